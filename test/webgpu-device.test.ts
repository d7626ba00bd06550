// Finding the Vulkan loader before Dawn is asked (a machine without libvulkan gets one line from the SDK,
// not Dawn's warning and stack line), on a fake file system.
import { describe, expect, it } from 'vitest';
import { findVulkanLoader } from '../src/backend/webgpu/device.js';

function fakeFs(files: Record<string, number>, cache?: string) {
  return {
    readFileSync: ((path: string) => {
      if (path === '/etc/ld.so.cache' && cache !== undefined) return cache;
      throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
    }) as never,
    statSync: ((path: string) => {
      if (!(path in files)) throw Object.assign(new Error(`ENOENT: ${path}`), { code: 'ENOENT' });
      return { isFile: () => files[path] >= 0, size: Math.max(files[path], 0) };
    }) as never,
  };
}

describe('findVulkanLoader', () => {
  it('finds libvulkan.so.1 through ld.so.cache, LD_LIBRARY_PATH or the usual folders', () => {
    const cache = 'glibc-ld.so.cache1.1\0libvulkan.so.1\0/opt/vk/lib/libvulkan.so.1\0libz.so.1\0/lib/libz.so.1\0';
    expect(findVulkanLoader(fakeFs({ '/opt/vk/lib/libvulkan.so.1': 1000 }, cache))).toBe('/opt/vk/lib/libvulkan.so.1');
    expect(findVulkanLoader(fakeFs({ '/home/me/vk/libvulkan.so.1': 1000 }), '/nowhere:/home/me/vk')).toBe('/home/me/vk/libvulkan.so.1');
    expect(findVulkanLoader(fakeFs({ '/usr/lib/x86_64-linux-gnu/libvulkan.so.1': 1000 }))).toBe('/usr/lib/x86_64-linux-gnu/libvulkan.so.1');
  });

  it('finds none where the file is missing, empty or not a regular file', () => {
    expect(findVulkanLoader(fakeFs({}, 'glibc-ld.so.cache1.1\0libz.so.1\0/lib/libz.so.1\0'))).toBeUndefined();
    expect(findVulkanLoader(fakeFs({ '/usr/lib/libvulkan.so.1': 0 }))).toBeUndefined();
    expect(findVulkanLoader(fakeFs({ '/usr/lib/libvulkan.so.1': -1 }))).toBeUndefined();
    // libvulkan_lvp.so (a driver) is not the loader.
    expect(findVulkanLoader(fakeFs({ '/lib/libvulkan_lvp.so': 1000 }, '\0/lib/libvulkan_lvp.so\0'))).toBeUndefined();
  });
});
