import { ValidationFailed } from '../errors';

/**
 * The `q` of community posts and market listings: full-text search on stock InnoDB FULLTEXT
 * (MariaDB 10.11 and MySQL 8 alike, no parser plugin).
 *
 * InnoDB's built-in parser splits on non-word characters (Korean is written with spaces, so each
 * 어절 like 강아지가 is one token), but it drops tokens shorter than `innodb_ft_min_token_size` (3 by
 * default, a server setting the app cannot change: 산책 and 개 would vanish) and words on its stopword
 * list (the, and, with …). So the indexed column does not hold the raw text: it holds every distinct
 * word of the title and body, normalized (NFKC, lower case) and prefixed with a two-letter marker
 * (`산책로` → `zq산책로`). Every token is then at least 3 characters and none is a stopword.
 *
 * A query word becomes a required prefix term in boolean mode (`+zq산책*`), so 산책 finds 산책로
 * and 강아지 finds 강아지가 and 강아지랑: Korean particles attach to the end of a word, and prefix
 * matching is what people expect from them. English is matched case-insensitively, also by prefix
 * (walk finds walking). Several words must all match (AND).
 *
 * Limits (documented in the README): prefix only — a word is not found from its middle or end (책 does
 * not find 산책; a compound written without a space, 강아지산책, is found by 강아지 but not by 산책); no
 * stemming or synonyms (dogs does not find dog… but dog finds dogs); results are in the feed's
 * order (newest first), not by relevance.
 */
export const MARKER = 'zq';
/** InnoDB drops tokens over `innodb_ft_max_token_size` (84): longer words are cut to this. */
const MAX_WORD = 80;
export const MAX_QUERY_WORDS = 8;

const WORD_SPLIT = /[^\p{L}\p{N}]+/u;

/** The words of a text as the index sees them: NFKC, lower case, letters and digits only. */
export function wordsOf(text: string): string[] {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .split(WORD_SPLIT)
    .filter((w) => w.length > 0)
    .map((w) => Array.from(w).slice(0, MAX_WORD).join(''));
}

/** The indexed document of a post or listing: the distinct words of its title and body, marked. */
export function searchDocument(title: string, body: string): string {
  const words = new Set([...wordsOf(title), ...wordsOf(body)]);
  return [...words].map((w) => MARKER + w).join(' ');
}

/**
 * A user's `q` as a boolean-mode expression (every word required, each as a prefix), or null when it
 * holds no word at all (only punctuation). Operators typed by the user cannot leak through: only
 * letters and digits survive `wordsOf`.
 */
export function booleanQuery(q: string): string | null {
  const words = [...new Set(wordsOf(q))].slice(0, MAX_QUERY_WORDS);
  if (!words.length) return null;
  return words.map((w) => `+${MARKER}${w}*`).join(' ');
}

/**
 * The keys of a document in a word-prefix table (the community's `post_word_prefixes`): the first
 * PREFIX_CHARS characters of each distinct word that has at least that many. A table keyed on them,
 * ordered by recency, hands out a query word's candidates newest first, so a page is an index walk
 * that stops after a page, where a FULLTEXT prefix match has to collect and sort every match first.
 */
export const PREFIX_CHARS = 2;
const prefixOf = (word: string): string | null => {
  const chars = Array.from(word);
  return chars.length >= PREFIX_CHARS ? chars.slice(0, PREFIX_CHARS).join('') : null;
};

export function prefixKeys(title: string, body: string): string[] {
  const keys = new Set<string>();
  for (const w of [...wordsOf(title), ...wordsOf(body)]) {
    const key = prefixOf(w);
    if (key) keys.add(key);
  }
  return [...keys];
}

/**
 * A user's `q` as a prefix-table walk: `key` is the prefix of its longest word (the most selective
 * candidate list), and `patterns` one `LIKE` per word on `CONCAT(' ', searchText)`, the exact test
 * (each word starts a marked token; words hold only letters and digits, so nothing needs escaping).
 * The table only proposes candidates; the patterns decide. Null when no word has PREFIX_CHARS
 * characters (개 alone): such a query has no key and goes to the FULLTEXT index.
 */
export function prefixQuery(q: string): { key: string; patterns: string[] } | null {
  const words = [...new Set(wordsOf(q))].slice(0, MAX_QUERY_WORDS);
  const longest = words.reduce<string | null>(
    (best, w) => (Array.from(w).length > (best === null ? 0 : Array.from(best).length) ? w : best),
    null,
  );
  const key = longest === null ? null : prefixOf(longest);
  if (key === null) return null;
  return { key, patterns: words.map((w) => `% ${MARKER}${w}%`) };
}

/** booleanQuery for a list's `q`: a `q` without any word is a 400 naming `query.q`. */
export function requiredBooleanQuery(q: string): string {
  const expr = booleanQuery(q);
  if (!expr)
    throw ValidationFailed('Invalid request: query.q has no word to search for', [
      { path: 'query.q', message: 'must contain at least one letter or digit' },
    ]);
  return expr;
}
