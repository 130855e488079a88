import { useEffect, useState, type DragEvent } from 'react';
import { useStore } from '../../store/store';
import { chooseImageFile } from './actions';
import { Controls } from './Controls';
import { Compare, History } from './History';
import { InputPicker } from './InputPicker';
import { LoadStrip } from './LoadStrip';
import { RunView } from './RunView';
import './roundtrip.css';

/** Returns the first image file of a drop or paste, if any. */
function firstImage(data: DataTransfer | null): File | null {
  const files = Array.from(data?.files ?? []);
  return files.find((f) => f.type.startsWith('image/')) ?? files[0] ?? null;
}

/** Round trip: image → caption → image → … with fidelity per loop, charted as each loop finishes. */
export function RoundTripPanel() {
  const current = useStore((s) => s.runs.roundtrip.current);
  const [dragging, setDragging] = useState(false);
  useEffect(() => {
    const onPaste = (e: ClipboardEvent) => {
      const file = firstImage(e.clipboardData);
      if (!file) return;
      e.preventDefault();
      void chooseImageFile(file, 'paste', file.name && file.name !== 'image.png' ? file.name : 'pasted image');
    };
    document.addEventListener('paste', onPaste);
    return () => document.removeEventListener('paste', onPaste);
  }, []);
  const onDragOver = (e: DragEvent) => {
    if (!Array.from(e.dataTransfer.types).includes('Files')) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
    setDragging(true);
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const file = firstImage(e.dataTransfer);
    if (file) void chooseImageFile(file, 'drop');
  };
  return (
    <section
      className={dragging ? 'rt-panel dragging' : 'rt-panel'}
      data-testid="roundtrip-panel"
      onDragOver={onDragOver}
      onDragLeave={(e) => e.currentTarget === e.target && setDragging(false)}
      onDrop={onDrop}
    >
      <h2>Round trip: image → caption → image → …</h2>
      <p className="muted">
        The encoder captions the image, the decoder redraws it from the caption alone, and the loop repeats on the redrawn image. Fidelity
        is measured against the original (and the previous image): scorer cosine (sim), PSNR, SSIM, and for Shapes scenes how many of the
        caption’s attributes are true of the scene.
      </p>
      <LoadStrip />
      <div className="rt-top">
        <InputPicker />
        <Controls />
      </div>
      {current ? <RunView run={current} /> : <p className="muted">Run the loop to see captions, reconstructions and charts here.</p>}
      <History />
      <Compare />
      {dragging && <div className="rt-drop-hint">Drop the image to use it</div>}
    </section>
  );
}
