// "Export all runs" / "Import runs": every stored round trip and imported training log as one JSON file,
// and back. An import adds the runs this browser does not have yet and never touches the ones it has.
import { ArchiveError, archiveFromJson, archiveToJson } from '../../persist/archive';
import { panelErrors } from '../../lib/errors';
import { downloadBlob } from '../../lib/download';
import { storageError } from '../../persist/errors';
import { addRoundTrips, allRoundTrips } from '../../persist/runs-db';
import { addRestoredRuns } from '../../lib/trainingRuns';
import { storedRuns, storeNewRuns } from '../../persist/training-db';
import { loadHistory } from './actions';

/** This panel's errors: the banner shows them on the roundtrip tab only. */
const showError = panelErrors('roundtrip');

/** Downloads every stored run as `uae-runs-<time>.json`; returns what it holds, or null (error in the banner). */
export async function exportAllRuns(): Promise<{ roundtrips: number; training: number } | null> {
  try {
    const [roundtrips, training] = await Promise.all([allRoundTrips(), storedRuns()]);
    const now = new Date();
    const text = archiveToJson({ roundtrips, training }, now);
    downloadBlob(new Blob([text], { type: 'application/json' }), `uae-runs-${now.toISOString().replace(/[:.]/g, '-')}.json`);
    return { roundtrips: roundtrips.length, training: training.length };
  } catch (e) {
    showError({ code: 'export', message: `the runs could not be exported (${e instanceof Error ? e.message : String(e)})` });
    return null;
  }
}

/** What an import did: runs added, and runs skipped because this browser had them already. */
export interface ImportOutcome {
  roundtrips: number;
  training: number;
  skipped: number;
}

/** Reads a runs archive and stores the runs it adds; returns the outcome, or null (the reason is in the banner). */
export async function importRunsFile(file: File): Promise<ImportOutcome | null> {
  let archive;
  try {
    archive = archiveFromJson(await file.text(), file.name);
  } catch (e) {
    showError({ code: 'bad-import', message: e instanceof ArchiveError ? e.message : `${file.name}: ${String(e)}` });
    return null;
  }
  try {
    const roundtrips = await addRoundTrips(archive.roundtrips);
    const training = await storeNewRuns(archive.training, Date.now());
    addRestoredRuns(training);
    await loadHistory(true);
    return {
      roundtrips,
      training: training.length,
      skipped: archive.roundtrips.length + archive.training.length - roundtrips - training.length,
    };
  } catch (e) {
    showError(storageError(e, `the runs of ${file.name}`));
    return null;
  }
}
