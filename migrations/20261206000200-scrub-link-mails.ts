import type { QueryInterface } from 'sequelize';

/**
 * Verification and reset mails used to be stored whole in the outbox, links included, and kept after
 * delivery: a read of the table yielded working links. They are now stored sealed and deleted once
 * handed on; this removes the delivered ones written before that. Pending ones stay (they still
 * have to go out). Nothing to undo.
 */
export async function up({ context: qi }: { context: QueryInterface }) {
  await qi.sequelize.query(
    `DELETE FROM outbox WHERE topic = 'mail.send' AND processedAt IS NOT NULL
        AND (payload LIKE '%/reset-password?token=%' OR payload LIKE '%/verify-email?token=%')`,
  );
}

export async function down() {}
