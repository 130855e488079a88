import { useEffect, useState } from 'react';
import { useStore } from '../../store/store';
import { chooseImageFile, chooseScene, loadGallery, randomScene, type GalleryScene } from './actions';
import { Pixels } from '../../components/Pixels';

function Gallery({ onClose }: { onClose(): void }) {
  const [scenes, setScenes] = useState<GalleryScene[] | null>(null);
  useEffect(() => {
    let live = true;
    void loadGallery().then((s) => live && setScenes(s));
    return () => {
      live = false;
    };
  }, []);
  if (!scenes) return <p className="muted">Reading the gallery…</p>;
  return (
    <div className="rt-gallery" data-testid="rt-gallery">
      {scenes.map((s) => (
        <button
          key={s.id}
          type="button"
          title={s.caption}
          data-testid={`rt-gallery-${s.id}`}
          onClick={() => {
            void chooseScene(s.seed, 'gallery', `gallery scene ${s.id}`);
            onClose();
          }}
        >
          <img src={`gallery/${s.file}`} alt={s.caption} width={48} height={48} />
        </button>
      ))}
    </div>
  );
}

/** Where the image comes from (file, gallery, random scene; drop and paste are handled by the panel) and what the model sees. */
export function InputPicker() {
  const input = useStore((s) => s.runs.roundtrip.input);
  const busy = useStore((s) => s.runs.roundtrip.inputBusy);
  const [showGallery, setShowGallery] = useState(false);
  return (
    <section className="card rt-input" aria-labelledby="rt-input-title">
      <h3 id="rt-input-title">Image</h3>
      <div className="row">
        <label className="button-like">
          Choose image…
          <input
            type="file"
            accept="image/*"
            className="sr-only"
            data-testid="rt-file-input"
            onChange={(e) => {
              const f = e.target.files?.[0];
              if (f) void chooseImageFile(f, 'file');
              e.target.value = '';
            }}
          />
        </label>
        <button type="button" onClick={() => setShowGallery((v) => !v)} aria-expanded={showGallery} data-testid="rt-gallery-toggle">
          Shapes gallery
        </button>
        <button type="button" onClick={() => void randomScene()} data-testid="rt-random">
          Random scene
        </button>
        {busy && <span className="muted">decoding…</span>}
      </div>
      <p className="muted small">
        …or drop an image anywhere on this panel, or paste one (Ctrl+V). Your image is decoded in this browser and never uploaded.
      </p>
      {showGallery && <Gallery onClose={() => setShowGallery(false)} />}
      {input ? (
        <div className="rt-views" data-testid="rt-input" data-kind={input.kind}>
          <figure>
            <div className="rt-crop-wrap">
              <Pixels
                rgba={input.preview}
                width={input.preview.width}
                height={input.preview.height}
                size={192}
                label={`original: ${input.label}`}
                testId="rt-original"
                smooth
              />
              {input.crop && (
                <span
                  className="rt-crop"
                  title="the part the model sees"
                  style={{
                    left: `${input.crop[0] * 100}%`,
                    top: `${input.crop[1] * 100}%`,
                    width: `${input.crop[2] * 100}%`,
                    height: `${input.crop[3] * 100}%`,
                  }}
                />
              )}
            </div>
            <figcaption data-testid="rt-input-label">
              Original: {input.label}{' '}
              <span className="muted">
                ({input.sourceWidth}×{input.sourceHeight})
              </span>
            </figcaption>
          </figure>
          <figure>
            <Pixels
              rgb={input.modelView}
              width={input.width}
              height={input.height}
              size={192}
              label="the model's view"
              testId="rt-model-view"
            />
            <figcaption>
              Model view, {input.width}×{input.height}
            </figcaption>
          </figure>
          <p className="rt-policy small" data-testid="rt-resize-policy">
            <strong>Resize policy.</strong> {input.resize}.
          </p>
        </div>
      ) : (
        <p className="muted" data-testid="rt-no-input">
          No image yet.
        </p>
      )}
    </section>
  );
}
