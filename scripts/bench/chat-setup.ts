/**
 * Creates the chat benchmark's group rooms the way features do (there is no public route for them):
 * `services.chat.createRoomInTx` in a Pawmate process built from the same config as the measured
 * instances, without an HTTP listener or background work.
 *   node dist/scripts/bench/chat-setup.js   (env: a Pawmate server's; IPC command `postRooms`)
 */
import { loadConfig } from '../../src/config';
import { openInfrastructure } from '../../src/bootstrap';
import { createApp } from '../../src/app';
import { inTransaction } from '../../src/infra/db';
import { createLogger } from '../../src/infra/logger';
import { serveIpc } from './ipc';

async function main() {
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel);
  const infra = await openInfrastructure(config, logger);
  const pawmate = createApp({ ...infra, config });
  const chat = pawmate.services.chat;

  serveIpc({
    /** One open `post` room per group of user ids (postId = firstPostId + index); returns the room ids. */
    async postRooms(req: { groups: number[][]; firstPostId: number }) {
      const ids: number[] = [];
      for (const [i, memberIds] of req.groups.entries()) {
        const { roomId } = await inTransaction(infra.sequelize, (t) =>
          chat.createRoomInTx(t, { type: 'post', postId: req.firstPostId + i, memberIds }),
        );
        ids.push(roomId);
      }
      return ids;
    },
  });
}

main().catch((err) => {
  process.stderr.write(`chat-setup: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
