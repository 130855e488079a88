// Downloads started from the page: an <a download> click on an object URL, revoked a little later.

/** Starts a download of `blob` as `fileName` (an <a download> click; the object URL is revoked after). */
export function downloadBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
