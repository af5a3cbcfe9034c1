/** Runs the real CLI in a child process, as `npm start` does, and reads what it prints. */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dispose } from './harness.ts';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Generous: tsx compiles the server on first start. */
const START_TIMEOUT_MS = 15_000;

export interface Cli {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs the real CLI, as `npm start` does, with an environment free of our variables. */
export function runCli(args: string[], env: Record<string, string> = {}): Cli {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([key]) => !key.startsWith('THREADLINE_') && !['PORT', 'HOST'].includes(key),
    ),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts', ...args], {
    cwd: ROOT,
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.setEncoding('utf8').on('data', (text: string) => {
    out += text;
  });
  child.stderr?.setEncoding('utf8').on('data', (text: string) => {
    err += text;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close', not 'exit': by then stdout and stderr have been read to the end.
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  dispose(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Waits for pino's "Server listening at …" line and returns that address. */
export function listeningAddress(cli: Cli): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the CLI did not start listening: ${cli.stderr()}`)),
      START_TIMEOUT_MS,
    );
    const look = () => {
      for (const line of cli.stdout().split('\n')) {
        if (!line.startsWith('{')) continue;
        const { msg } = JSON.parse(line) as { msg?: string };
        const match = /^Server listening at (http:\/\/\S+)$/.exec(msg ?? '');
        if (match?.[1]) {
          clearTimeout(timer);
          cli.child.stdout?.off('data', look);
          cli.child.off('exit', exited);
          return resolve(match[1]);
        }
      }
    };
    const exited = () => {
      clearTimeout(timer);
      reject(new Error(`the CLI exited before listening: ${cli.stderr()}`));
    };
    cli.child.stdout?.on('data', look);
    cli.child.once('exit', exited);
    look();
  });
}
