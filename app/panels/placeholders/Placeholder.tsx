import type { Tab } from '../../store/types';

const PLANNED: Record<Exclude<Tab, 'bundle'>, { title: string; intro: string; points: string[] }> = {
  roundtrip: {
    title: 'Round trip: image → caption → image',
    intro:
      'The auto-encoder view of UAE: the encoder (understanding) writes a caption for an image, the decoder (generation) redraws the image from that caption alone, and the scorer measures reconstruction fidelity.',
    points: [
      'Pick or draw a scene; watch the caption stream token by token.',
      'Watch the decoder’s flow steps turn noise into the reconstruction.',
      'Fidelity = cosine similarity of the scorer’s embeddings of original and reconstruction.',
    ],
  },
  rollouts: {
    title: 'Rollouts: a GRPO group for one image',
    intro:
      'Unified-GRPO stage 2 in miniature: sample a group of G captions for the same image, reconstruct each, and reward each caption by its fidelity.',
    points: [
      'Group size, temperature, top-p and the seed are shareable settings.',
      'Each rollout shows its caption, reconstruction, reward and group-normalised advantage.',
      'Compare the reference encoder with later training checkpoints from the bundle.',
    ],
  },
  training: {
    title: 'Training: recorded runs and the “aha moment”',
    intro:
      'Plots of the bundle’s recorded training runs (TRL-style log_history): reward, caption length, KL, clip ratios — how captions grow longer as fidelity rises.',
    points: [
      'Load the runs shipped with the bundle, or a trainer_state.json of your own.',
      'Overlay stages (cold start, generation for understanding, understanding for generation).',
    ],
  },
};

/** An honest "not built yet" panel: what this tab will do, and that it does nothing yet. */
export function Placeholder({ tab }: { tab: Exclude<Tab, 'bundle'> }) {
  const p = PLANNED[tab];
  return (
    <section className="placeholder" data-testid={`placeholder-${tab}`}>
      <h2>{p.title}</h2>
      <p>{p.intro}</p>
      <ul>
        {p.points.map((point) => (
          <li key={point}>{point}</li>
        ))}
      </ul>
      <span className="tag status">Not built yet — this panel is planned, nothing here runs.</span>
    </section>
  );
}
