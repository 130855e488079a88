import type { BundleFileData } from '../../src/protocol/messages.ts';

/** A user-picked file with its path relative to the picked/dropped folder. File handles stay readable. */
export interface LocalFile {
  path: string;
  file: File;
}

/** Files from `<input webkitdirectory>`: path = webkitRelativePath ("folder/manifest.json"). */
export function filesFromInput(list: FileList): LocalFile[] {
  return Array.from(list, (file) => ({ path: file.webkitRelativePath || file.name, file }));
}

/** Reads the files' bytes (again, each call: the engine takes ownership of the buffers it is sent). */
export function readLocalFiles(files: LocalFile[]): Promise<BundleFileData[]> {
  return Promise.all(files.map(async ({ path, file }) => ({ path, data: await file.arrayBuffer() })));
}

function readEntries(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  return new Promise((resolve, reject) => reader.readEntries(resolve, reject));
}

function entryFile(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

async function walk(entry: FileSystemEntry, prefix: string, out: LocalFile[]): Promise<void> {
  const path = prefix ? `${prefix}/${entry.name}` : entry.name;
  if (entry.isFile) {
    out.push({ path, file: await entryFile(entry as FileSystemFileEntry) });
    return;
  }
  if (!entry.isDirectory) return;
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  // readEntries returns at most ~100 entries per call; an empty batch means the end.
  for (let batch = await readEntries(reader); batch.length > 0; batch = await readEntries(reader)) {
    for (const child of batch) await walk(child, path, out);
  }
}

/** Files of a folder (or loose files) dropped on the page, with paths relative to the drop. */
export async function filesFromDrop(data: DataTransfer): Promise<LocalFile[]> {
  // Entries must be taken synchronously, before the first await invalidates the DataTransfer.
  const entries = Array.from(data.items, (item) => item.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
  if (entries.length === 0) return Array.from(data.files, (file) => ({ path: file.name, file }));
  const out: LocalFile[] = [];
  for (const entry of entries) await walk(entry, '', out);
  return out;
}
