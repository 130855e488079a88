import { formatBytes } from '../format';

/** What each phase of a bundle load is called on screen (the Model bundle tab and the first screen's strip). */
export const LOAD_PHASES: Readonly<Record<string, string>> = {
  manifest: 'reading the manifest',
  download: 'downloading',
  verify: 'checking sha256',
  sessions: 'creating sessions',
  run: 'running',
};

interface Props {
  label: string;
  loaded: number;
  total: number;
  overall?: boolean;
  testId?: string;
}

/** One labelled byte-progress line: name, native <progress>, "loaded / total". */
export function ProgressBar({ label, loaded, total, overall, testId }: Props) {
  const known = total > 0;
  return (
    <div className={overall ? 'line overall' : 'line'} data-testid={testId}>
      <span className="name mono" title={label}>
        {label}
      </span>
      <progress value={known ? Math.min(loaded, total) : undefined} max={known ? total : undefined} aria-label={`${label} progress`} />
      <span className="num">
        {formatBytes(loaded)}
        {known ? ` / ${formatBytes(total)}` : ''}
      </span>
    </div>
  );
}
