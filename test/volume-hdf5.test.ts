// HDF5 (UA-MT / BCP `mri_norm2.h5`) reading via h5wasm, against values h5py read from the same files.
import { describe, expect, it } from 'vitest';
import { readHdf5Volumes, voxelIndex } from '../src/volume/index.js';
import { catchErrorAsync, dataBytes, expectMatches, expected, fixtureBytes } from './fixtures/volume/fixtures.js';

const LA_CASE = 'la/06SR5RBREL16DQ6M8LWS/mri_norm2.h5';

describe('readHdf5Volumes', () => {
  it('reads a real LA case: axis i of the dataset is Volume axis i, 0.625 mm isotropic', async () => {
    const { image, label } = await readHdf5Volumes(dataBytes(LA_CASE), LA_CASE);
    const want = expected[LA_CASE];
    expectMatches(image, want.image);
    expectMatches(label!, want.label);
    expect(image.shape[2]).toBe(88); // the fastest C-order axis becomes z
    expect(image.spacing).toEqual([0.625, 0.625, 0.625]);
    expect(image.dtype).toBe('float32');
    expect(label!.dtype).toBe('uint8');
    expect(image.metadata.format).toBe('hdf5');
  });

  it('reads the small LA-format fixture, honours a spacing option, and stores x fastest', async () => {
    const { image, label } = await readHdf5Volumes(fixtureBytes('la-small.h5'), 'la-small.h5', { spacing: [1, 2, 3] });
    const affine = [1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 3, 0, 0, 0, 0, 1];
    expectMatches(image, { ...expected['la-small.h5'].image, affine });
    expectMatches(label!, { ...expected['la-small.h5'].label, affine });
    expect(image.affine).toEqual([1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 3, 0, 0, 0, 0, 1]);
    // neighbours along x are adjacent in memory
    expect(voxelIndex(image.shape, 1, 0, 0) - voxelIndex(image.shape, 0, 0, 0)).toBe(1);
  });

  it('rejects a file that is not HDF5 and a truncated one with E_HDF5_CORRUPT naming the file', async () => {
    const notHdf5 = await catchErrorAsync(() => readHdf5Volumes(new Uint8Array(2048), 'zeros.h5'));
    expect(notHdf5.code).toBe('E_HDF5_CORRUPT');
    expect(notHdf5.message).toMatch(/zeros\.h5: not an HDF5 file/);
    const bytes = fixtureBytes('la-small.h5');
    const truncated = await catchErrorAsync(() => readHdf5Volumes(bytes.subarray(0, Math.floor(bytes.length * 0.6)), 'cut.h5'));
    expect(truncated.code).toBe('E_HDF5_CORRUPT');
    expect(truncated.message).toMatch(/cut\.h5/);
  });

  it('names the missing dataset', async () => {
    const error = await catchErrorAsync(() => readHdf5Volumes(fixtureBytes('la-small.h5'), 'la-small.h5', { imageKey: 'img' }));
    expect(error.code).toBe('E_HDF5_CORRUPT');
    expect(error.message).toMatch(/expected a dataset "img", found \[image, label\]/);
  });
});
