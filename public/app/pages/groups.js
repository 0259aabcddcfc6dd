// Groups (family spaces): mine, creating one, inviting by e-mail, accepting invites, the group chat.
import { api } from '../api.js';
import { field, form, h, put, when } from '../dom.js';
import { go, toast } from '../ui.js';

async function mine(view) {
  const [groups, invites] = await Promise.all([api('GET', '/groups'), api('GET', '/invites')]);
  const answer = (invite, move) => async () => {
    await api('POST', `/invites/${invite.id}/${move}`);
    view.replaceChildren();
    await mine(view);
  };
  put(
    view,
    h('h2', {}, 'My groups'),
    invites.items.map((i) =>
      h(
        'div',
        { class: 'card row', dataset: { inviteId: i.id } },
        `${i.invitedBy?.nickname ?? 'Someone'} invites you to ${i.group.name}`,
        h('button', { onclick: answer(i, 'accept') }, 'Accept'),
        h('button', { class: 'secondary', onclick: answer(i, 'decline') }, 'Decline'),
      ),
    ),
    groups.items.length ? null : h('p', {}, 'No group yet.'),
    groups.items.map((g) =>
      h(
        'a',
        { class: 'card', href: `#/groups/${g.id}`, dataset: { groupId: g.id } },
        h('strong', {}, g.name),
        h('span', { class: 'muted' }, ` · ${g.memberCount} member(s) · ${g.myRole}`),
      ),
    ),
    h('h3', {}, 'Start a group'),
    form(
      [field('Name', 'name', { required: true, maxlength: 40 }), field('About', 'description', { maxlength: 500 })],
      'Create',
      async (v) => go(`/groups/${(await api('POST', '/groups', { body: v })).id}`),
      { id: 'new-group' },
    ),
  );
}

async function group(view, { id }) {
  const [g, members, events] = await Promise.all([
    api('GET', `/groups/${id}`),
    api('GET', `/groups/${id}/members`, { query: { limit: 50 } }),
    api('GET', `/groups/${id}/events`, {
      query: { from: new Date().toISOString(), to: new Date(Date.now() + 30 * 86_400_000).toISOString() },
    }),
  ]);
  put(
    view,
    h('h2', {}, g.name),
    h('p', {}, g.description),
    g.chatRoomId ? h('p', {}, h('a', { href: `#/chat/${g.chatRoomId}` }, 'Group chat')) : null,
    h('h3', {}, 'Members'),
    h('p', {}, members.items.map((m) => `${m.user.nickname} (${m.role})`).join(', ')),
    h('h3', {}, 'Next 30 days'),
    events.items.length ? null : h('p', { class: 'muted' }, 'Nothing planned.'),
    events.items.map((e) => h('div', { class: 'card' }, h('strong', {}, e.title), ` · ${when(e.startsAt)}`)),
    g.myRole === 'member'
      ? null
      : form([field('Invite by e-mail', 'email', { type: 'email', required: true })], 'Invite', async (v, el) => {
          await api('POST', `/groups/${id}/invites`, { body: v });
          el.reset();
          toast('Invitation sent');
        }),
  );
}

export const groupPages = { '/groups': mine, '/groups/:id': group };
