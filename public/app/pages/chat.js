// Chat: the rooms list and one room, live over Socket.io (sending, receiving, read receipts, catch-up).
import { api, session } from '../api.js';
import { ask, chatSocket } from '../realtime.js';
import { form, h, when, put } from '../dom.js';

async function rooms(view) {
  const page = await api('GET', '/chat/rooms', { query: { limit: 50 } });
  const me = session().user.id;
  put(view, h('h2', {}, 'Chat'));
  if (!page.items.length) put(view, h('p', {}, 'No conversation yet.'));
  for (const r of page.items) {
    const others =
      r.members
        .filter((m) => m.id !== me)
        .map((m) => m.nickname)
        .join(', ') || r.type;
    put(
      view,
      h(
        'a',
        { href: `#/chat/${r.id}`, class: 'card row', dataset: { roomId: r.id } },
        h('strong', {}, others),
        h('span', { class: 'muted' }, r.lastMessage ? r.lastMessage.body : '(no message)'),
        r.unreadCount ? h('span', { class: 'badge' }, String(r.unreadCount)) : null,
      ),
    );
  }
}

async function room(view, { id }) {
  const roomId = Number(id);
  const me = session().user.id;
  const [info, page] = await Promise.all([
    api('GET', `/chat/rooms/${roomId}`),
    api('GET', `/chat/rooms/${roomId}/messages`, { query: { limit: 50 } }),
  ]);
  const box = h('div', { class: 'messages', id: 'messages' });
  const typing = h('p', { class: 'muted' });
  const seen = new Set();
  let lastId = 0;
  const show = (m) => {
    if (seen.has(m.id)) return; // an ack and its broadcast, or a catch-up overlap
    seen.add(m.id);
    lastId = Math.max(lastId, m.id);
    box.append(
      h(
        'div',
        { class: `message${m.senderId === me ? ' mine' : ''}`, dataset: { messageId: m.id } },
        h('span', { title: when(m.createdAt) }, m.body),
      ),
    );
    box.scrollTop = box.scrollHeight;
  };
  [...page.items].reverse().forEach(show); // the page is newest first
  const markRead = () => lastId && ask('message:read', { roomId, messageId: lastId }).catch(() => undefined);

  const socket = await chatSocket();
  // (Re)joining after every connect; messages sent while disconnected are fetched with ?after=.
  const join = async () => {
    await ask('room:join', { roomId });
    for (let after = lastId; after;) {
      const missed = await api('GET', `/chat/rooms/${roomId}/messages`, { query: { after, limit: 100 } });
      missed.items.forEach(show);
      after = missed.nextCursor ? Number(missed.nextCursor) : 0;
    }
    markRead();
    box.dataset.joined = 'true'; // (tests wait for it)
  };
  const onMessage = (m) => {
    if (m.roomId !== roomId) return;
    show(m);
    markRead();
  };
  const onTyping = (t) => {
    if (t.roomId !== roomId) return;
    typing.textContent = `${info.members.find((u) => u.id === t.userId)?.nickname ?? 'Someone'} is typing…`;
    setTimeout(() => (typing.textContent = ''), 3000);
  };
  socket.on('connect', join);
  socket.on('message:new', onMessage);
  socket.on('typing', onTyping);
  if (socket.connected) await join();

  const others = info.members
    .filter((m) => m.id !== me)
    .map((m) => m.nickname)
    .join(', ');
  let lastTyping = 0;
  put(
    view,
    h('h2', {}, `Chat with ${others || info.type}`),
    box,
    typing,
    form(
      [
        h('input', {
          name: 'body',
          required: true,
          maxlength: 2000,
          autocomplete: 'off',
          'aria-label': 'Message',
          oninput: () => {
            if (Date.now() - lastTyping > 2000) {
              lastTyping = Date.now();
              ask('typing', { roomId }).catch(() => undefined);
            }
          },
        }),
      ],
      'Send',
      async (v, el) => {
        // clientId makes a resend after a lost ack idempotent: the server answers with the first message.
        const { message } = await ask('message:send', { roomId, body: v.body, clientId: crypto.randomUUID() });
        show(message);
        el.reset();
      },
      { id: 'send' },
    ),
  );
  return () => {
    socket.off('connect', join);
    socket.off('message:new', onMessage);
    socket.off('typing', onTyping);
    ask('room:leave', { roomId }).catch(() => undefined);
  };
}

export const chatPages = { '/chat': rooms, '/chat/:id': room };
