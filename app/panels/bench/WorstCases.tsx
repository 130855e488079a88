import { Pixels } from '../../components/Pixels';
import type { BenchEntry } from '../../store/benchSlice';
import { entryLabel } from './derive';

/**
 * A run's worst cases: Unified-Bench's lowest-similarity reconstructions beside their references with the caption,
 * or GenEval-Shapes' failed images with their prompt and what the checker saw.
 */
export function WorstCases({ entry }: { entry: BenchEntry | null }) {
  if (!entry) return null;
  const unified = entry.benchmark === 'unified';
  return (
    <section className="card bench-worst" data-testid="bench-worst" data-entry={entry.id} data-cases={entry.worst.length}>
      <h3>
        Worst cases · {unified ? 'Unified-Bench' : 'GenEval-Shapes'} · {entryLabel(entry)}
      </h3>
      <p className="muted small">
        {unified
          ? `The ${entry.worst.length} reconstructions with the lowest ${entry.similarity[0] ?? 'similarity'} cosine so far: reference, reconstruction, the encoder’s caption.`
          : `Failed images (at most two per task kind): the decoder’s image, the prompt, what the checker saw.`}
      </p>
      {entry.worst.length === 0 && <p className="muted">{unified ? 'No images scored yet.' : 'No failed image so far.'}</p>}
      <div className="bench-cases">
        {entry.worst.map((c) => (
          <figure key={c.key} className="bench-case" data-testid="bench-case">
            <div className="bench-case-images">
              {c.reference && (
                <Pixels rgb={c.reference} width={entry.width} height={entry.height} size={72} label={`reference ${c.detail}`} />
              )}
              <Pixels
                rgb={c.image}
                width={entry.width}
                height={entry.height}
                size={72}
                label={unified ? 'reconstruction' : 'decoder image'}
              />
            </div>
            <figcaption className="small">
              {unified ? (
                <>
                  <b className="mono">{(100 * c.score).toFixed(1)}</b> <span className="muted">{c.detail}</span>
                  <br />“{c.text}”
                </>
              ) : (
                <>
                  <span className="tag">{c.task}</span> “{c.text}”
                  <br />
                  <span className="muted">checker saw: {c.detail}</span>
                </>
              )}
            </figcaption>
          </figure>
        ))}
      </div>
    </section>
  );
}
