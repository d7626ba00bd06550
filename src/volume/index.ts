// The volume layer: Volume type, NIfTI / HDF5 / DICOM readers and writers, preprocessing, metrics.
// Browser-safe; Node file helpers live in ./node-io.js and are exported from there only.
export {
  type Volume,
  type VolumeData,
  type VolumeDType,
  type VolumeMetadata,
  type Vec3,
  makeVolume,
  withData,
  toLabelVolume,
  voxelIndex,
  voxelCount,
  spacingFromAffine,
  diagonalAffine,
} from './volume.js';
export { readNifti, type ReadNiftiOptions } from './nifti-read.js';
export { parseNiftiHeader, type NiftiHeader } from './nifti-header.js';
export { writeLabelNifti, writeImageNifti, NIFTI_INTENT_LABEL, type WriteNiftiOptions } from './nifti-write.js';
export { readHdf5Volumes, LA_SPACING_MM, type ReadHdf5Options, type Hdf5Volumes } from './hdf5-read.js';
export { readDicomSeries, type DicomFile, type ReadDicomOptions } from './dicom-series.js';
export { checkFinite, checkSameGrid, type NonFinitePolicy } from './validate.js';
export {
  zScoreNormalize,
  zScoreForModel,
  percentileNormalize,
  percentiles,
  type NormalizeOptions,
  type PercentileOptions,
} from './normalize.js';
export { cropOrPad, centredOffset, type CropPadOptions } from './crop-pad.js';
export { resampleToSpacing, resampledShape, type Interpolation } from './resample.js';
export { distanceTransform, squaredDistanceTransform } from './distance-transform.js';
export {
  segmentationMetrics,
  classMetrics,
  diceScore,
  surfaceMetrics,
  surfaceOf,
  type ClassMetrics,
  type MetricOptions,
} from './metrics.js';
