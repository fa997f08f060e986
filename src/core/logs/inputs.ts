/**
 * Which files a monitor-logs input names: a file, a directory (the log files in it, recursively),
 * or a glob ("/var/log/airflow/*.log*", "logs/**\/*.json"), quoted so that the server mode can
 * look for new matches later. "-" is stdin.
 */
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';

const GLOB_CHARS = /[*?[]/;

/** A regular expression for one path segment of a glob: * and ? stay inside the segment. */
export function segmentRegExp(segment: string): RegExp {
  let re = '';
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const close = segment.indexOf(']', i + 1);
      if (close < 0) re += '\\[';
      else {
        const body = segment.slice(i + 1, close).replace(/^!/, '^').replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = close;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

export function isGlob(input: string): boolean {
  return GLOB_CHARS.test(input);
}

/** Whether a file found in a directory looks like a log (not a state file or an archive of something else). */
export function looksLikeLog(name: string): boolean {
  return !name.startsWith('.') && /\.(log|json|jsonl|ndjson|txt|out)(\.\d+)?(\.gz)?$|\.log\.\d+$|\.gz$/.test(name);
}

async function walk(dir: string, out: string[]): Promise<void> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile() && looksLikeLog(e.name)) out.push(p);
  }
}

async function expandGlob(pattern: string): Promise<string[]> {
  const abs = path.resolve(pattern);
  const parts = abs.split('/').filter(Boolean);
  let bases = ['/'];
  for (let k = 0; k < parts.length; k++) {
    const seg = parts[k];
    const last = k === parts.length - 1;
    const next: string[] = [];
    if (seg === '**') {
      // Zero or more directories.
      for (const b of bases) {
        const dirs = [b];
        for (let d = 0; d < dirs.length; d++) {
          try {
            for (const e of await readdir(dirs[d], { withFileTypes: true })) if (e.isDirectory()) dirs.push(path.join(dirs[d], e.name));
          } catch {
            /* unreadable directory: nothing below it */
          }
        }
        next.push(...dirs);
      }
    } else if (!isGlob(seg)) {
      for (const b of bases) next.push(path.join(b, seg));
    } else {
      const re = segmentRegExp(seg);
      for (const b of bases) {
        try {
          for (const e of await readdir(b, { withFileTypes: true })) {
            if (!re.test(e.name) || (e.name.startsWith('.') && !seg.startsWith('.'))) continue;
            if (last ? e.isFile() : e.isDirectory()) next.push(path.join(b, e.name));
          }
        } catch {
          /* not a directory */
        }
      }
    }
    bases = next;
  }
  const files: string[] = [];
  for (const f of bases) {
    try {
      if ((await stat(f)).isFile()) files.push(f);
    } catch {
      /* vanished */
    }
  }
  return [...new Set(files)].sort();
}

export interface ExpandedInputs {
  files: string[];
  /** Inputs that named nothing (a missing file, a glob without matches). */
  unmatched: string[];
  stdin: boolean;
}

export async function expandInputs(inputs: readonly string[], cwd: string): Promise<ExpandedInputs> {
  const files: string[] = [];
  const unmatched: string[] = [];
  let stdin = false;
  for (const input of inputs) {
    if (input === '-') {
      stdin = true;
      continue;
    }
    const abs = path.resolve(cwd, input);
    if (isGlob(input)) {
      const found = await expandGlob(abs);
      if (found.length === 0) unmatched.push(input);
      files.push(...found);
      continue;
    }
    try {
      const st = await stat(abs);
      if (st.isDirectory()) {
        const found: string[] = [];
        await walk(abs, found);
        if (found.length === 0) unmatched.push(input);
        files.push(...found.sort());
      } else files.push(abs);
    } catch {
      unmatched.push(input);
    }
  }
  return { files: [...new Set(files)], unmatched, stdin };
}
