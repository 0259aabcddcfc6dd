// Meetups: nearby ones, creating one, joining and leaving.
import { api, session } from '../api.js';
import { field, form, h, when, put } from '../dom.js';
import { go } from '../ui.js';

const HERE = { lat: 37.5665, lng: 126.978 };

const localInput = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);

async function nearby(view) {
  const page = await api('GET', '/meetups/nearby', { query: { ...HERE, radiusKm: 20, limit: 50 } });
  const tomorrow = new Date(Date.now() + 86_400_000);
  tomorrow.setMinutes(0, 0, 0);
  put(
    view,
    h('h2', {}, 'Meetups nearby'),
    page.items.length ? null : h('p', {}, 'No meetup nearby yet.'),
    page.items.map((m) =>
      h(
        'a',
        { class: 'card', href: `#/meetups/${m.id}`, dataset: { meetupId: m.id } },
        h('strong', {}, m.title),
        ` · ${when(m.startsAt)} · ${m.address} · ${m.participantCount}/${m.capacity}`,
      ),
    ),
    h('h3', {}, 'Host a meetup'),
    form(
      [
        field('Title', 'title', { required: true, maxlength: 80 }),
        field('Description', 'description', { type: 'textarea', maxlength: 2000 }),
        field('Where', 'address', { required: true, value: 'Yeouido Hangang Park' }),
        field('Latitude', 'lat', { type: 'number', step: 'any', value: 37.5284 }),
        field('Longitude', 'lng', { type: 'number', step: 'any', value: 126.9327 }),
        field('Starts', 'startsAt', { type: 'datetime-local', required: true, value: localInput(tomorrow) }),
        field('Places (with you)', 'capacity', { type: 'number', min: 2, max: 100, value: 6 }),
      ],
      'Create',
      async (v) => {
        const m = await api('POST', '/meetups', {
          body: {
            title: v.title,
            description: v.description,
            address: v.address,
            location: { lat: Number(v.lat), lng: Number(v.lng) },
            startsAt: new Date(v.startsAt).toISOString(),
            capacity: Number(v.capacity),
          },
        });
        go(`/meetups/${m.id}`);
      },
      { id: 'new-meetup' },
    ),
  );
}

async function meetup(view, { id }) {
  const m = await api('GET', `/meetups/${id}`);
  const me = session().user.id;
  const joined = (m.participants ?? []).some((p) => p.id === me);
  const act = (fn) => async () => {
    await fn();
    view.replaceChildren();
    await meetup(view, { id });
  };
  put(
    view,
    h('h2', {}, m.title),
    h('p', {}, `${when(m.startsAt)} – ${when(m.endsAt)} · ${m.address}`),
    h('p', {}, m.description),
    h(
      'p',
      { id: 'participants' },
      `${m.participantCount} of ${m.capacity} going: `,
      (m.participants ?? []).map((p) => p.nickname).join(', '),
    ),
    m.host.id === me
      ? h('p', { class: 'muted' }, 'You host this meetup.')
      : joined
        ? h(
            'button',
            { class: 'secondary', onclick: act(() => api('DELETE', `/meetups/${id}/participants/me`)) },
            'Leave',
          )
        : h('button', { id: 'join', onclick: act(() => api('POST', `/meetups/${id}/participants`)) }, 'Join'),
    m.chatRoomId && (joined || m.host.id === me)
      ? h('p', {}, h('a', { href: `#/chat/${m.chatRoomId}` }, 'Meetup chat'))
      : null,
  );
}

export const meetupPages = { '/meetups': nearby, '/meetups/:id': meetup };
