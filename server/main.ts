/** The command line: `tsx server/main.ts [--port 8080] [--host h] [--preset p] [--responder r]`. */
import { buildServer } from './app.ts';
import { ConfigError, configFromCli } from './config.ts';

async function main() {
  let config: ReturnType<typeof configFromCli>;
  try {
    config = configFromCli(process.argv.slice(2), process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`threadline: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const app = await buildServer({ config });
  await app.listen({ port: config.port, host: config.host });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      app.log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    app.log.info({ signal }, 'shutting down: draining (a second signal exits at once)');
    // Drain first (streams finish or are cancelled, sockets close with 1001), then Fastify.
    app.threadline
      .drain()
      .then(() => app.close())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          app.log.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`threadline: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
