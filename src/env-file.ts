import dotenv from 'dotenv';

/**
 * Reads `.env` from the working directory into the environment — in development only (NODE_ENV
 * unset or `development`). A deployment takes its configuration from the real environment alone: a
 * stray `.env` on a production host (a copied checkout, a developer's file) must not fill in what the
 * operator left out, such as a missing JWT_SECRET. Variables already set always win.
 */
export function readEnvFileInDevelopment(env: NodeJS.ProcessEnv = process.env, file = '.env'): boolean {
  const mode = env.NODE_ENV ?? 'development';
  if (mode !== 'development') return false;
  dotenv.config({ quiet: true, path: file, processEnv: env as dotenv.DotenvPopulateInput });
  return true;
}
