// The community board: recent posts, writing one, a post with its comments and likes.
import { api } from '../api.js';
import { field, form, h, select, when, put } from '../dom.js';
import { go } from '../ui.js';

const KINDS = [['general'], ['question'], ['walk_route', 'walk route'], ['open_chat', 'open chat']];

async function posts(view) {
  const page = await api('GET', '/posts', { query: { sort: 'recent', limit: 30 } });
  put(
    view,
    h('h2', {}, 'Community board'),
    form(
      [
        select('Kind', 'kind', KINDS),
        field('Title', 'title', { required: true, maxlength: 100 }),
        field('Text', 'body', { type: 'textarea', required: true, maxlength: 10000 }),
      ],
      'Post',
      async (v) => go(`/board/${(await api('POST', '/posts', { body: v })).id}`),
      { id: 'new-post' },
    ),
    page.items.map((p) =>
      h(
        'a',
        { class: 'card', href: `#/board/${p.id}`, dataset: { postId: p.id } },
        h('strong', {}, p.title),
        h(
          'div',
          { class: 'muted' },
          `${p.author.nickname} · ${when(p.createdAt)} · ♥ ${p.likeCount} · 💬 ${p.commentCount}`,
        ),
      ),
    ),
  );
}

async function post(view, { id }) {
  const [p, comments] = await Promise.all([
    api('GET', `/posts/${id}`),
    api('GET', `/posts/${id}/comments`, { query: { limit: 100 } }),
  ]);
  const likes = h('button', { class: 'secondary', id: 'like' }, `♥ ${p.likeCount}`);
  likes.onclick = async () => {
    const r = await api(p.likedByMe ? 'DELETE' : 'PUT', `/posts/${id}/like`);
    p.likedByMe = r.likedByMe;
    likes.textContent = `♥ ${r.likeCount}`;
  };
  put(
    view,
    h('h2', {}, p.title),
    h('p', { class: 'muted' }, `${p.author.nickname} · ${when(p.createdAt)}`),
    h('p', {}, p.body),
    h(
      'div',
      { class: 'row' },
      p.photos.map((ph) => h('img', { src: ph.thumbnailUrl, alt: '', width: 160 })),
    ),
    likes,
    p.kind === 'open_chat'
      ? h(
          'button',
          { onclick: async () => go(`/chat/${(await api('POST', `/posts/${id}/chat/members`)).id}`) },
          'Join the open chat',
        )
      : null,
    h('h3', {}, 'Comments'),
    comments.items.map((c) =>
      h('div', { class: 'card' }, h('strong', {}, c.author?.nickname ?? '(deleted)'), ' ', c.body),
    ),
    form([field('Comment', 'body', { required: true, maxlength: 2000 })], 'Comment', async (v) => {
      await api('POST', `/posts/${id}/comments`, { body: v });
      view.replaceChildren();
      await post(view, { id });
    }),
  );
}

export const boardPages = { '/board': posts, '/board/:id': post };
