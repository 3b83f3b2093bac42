// Progress on stderr: a bar redrawn in place on a terminal, plain lines otherwise.

const fmtTime = (ms) => {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
};

export function progress(total, stream = process.stderr) {
  const tty = Boolean(stream.isTTY);
  const t0 = Date.now();
  let done = 0;
  let lastLine = "";
  const eta = () => (done > 0 ? ((Date.now() - t0) * (total - done)) / done : Number.NaN);
  return {
    /** One measurement finished: `label` says which. */
    step(label) {
      done++;
      if (!tty) return;
      const width = 30;
      const filled = Math.round((width * done) / total);
      const pct = Math.floor((100 * done) / total);
      const left = Number.isFinite(eta()) ? `, ~${fmtTime(eta())} left` : "";
      const line = `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(pct).padStart(3)}% ${label}${left}`;
      const cols = stream.columns || 100;
      const shown = line.length > cols - 1 ? line.slice(0, cols - 1) : line;
      stream.write(`\r${shown.padEnd(Math.min(lastLine.length, cols - 1))}`);
      lastLine = shown;
    },
    /** A milestone (a run finished): a line of its own on a terminal too. */
    note(text) {
      const line = `${text} (${Math.floor((100 * done) / total)}%, ${fmtTime(Date.now() - t0)} elapsed${
        done < total && Number.isFinite(eta()) ? `, ~${fmtTime(eta())} left` : ""
      })`;
      if (tty) {
        stream.write(`\r${" ".repeat(Math.min(lastLine.length, (stream.columns || 100) - 1))}\r${line}\n`);
        lastLine = "";
      } else stream.write(`${line}\n`);
    },
    end() {
      if (tty && lastLine) stream.write(`\r${" ".repeat(lastLine.length)}\r`);
    },
  };
}
