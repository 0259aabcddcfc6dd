// My profile: nickname, avatar, pets, and offering sitting.
import { api, session, signedIn } from '../api.js';
import { field, form, h, select, put } from '../dom.js';
import { toast } from '../ui.js';

async function me(view) {
  const [user, pets, sitter] = await Promise.all([
    api('GET', '/users/me'),
    api('GET', '/pets'),
    api('GET', '/sitters/me').catch(() => null),
  ]);
  const upload = (path) => async (v, el) => {
    const data = new FormData();
    data.append('image', el.querySelector('input[type=file]').files[0]);
    await api('PUT', path, { form: data });
    view.replaceChildren();
    await me(view);
  };
  put(
    view,
    h('h2', {}, 'My profile'),
    h(
      'div',
      { class: 'row' },
      user.avatarUrl ? h('img', { class: 'avatar', src: user.avatarUrl, alt: '' }) : h('span', { class: 'avatar' }),
      h('strong', {}, user.nickname),
      h('span', { class: 'muted' }, user.email ?? '', user.emailVerified ? ' (verified)' : ' (not verified)'),
    ),
    user.emailVerified
      ? null
      : h(
          'button',
          {
            class: 'secondary',
            onclick: async () => (await api('POST', '/auth/verify-email/resend'), toast('Verification mail sent')),
          },
          'Send the verification mail again',
        ),
    form(
      [field('Avatar', 'image', { type: 'file', accept: 'image/*', required: true })],
      'Upload avatar',
      upload('/users/me/avatar'),
    ),
    form(
      [
        field('Nickname', 'nickname', { value: user.nickname, minlength: 2, maxlength: 30 }),
        field('About me', 'bio', { value: user.bio, maxlength: 500 }),
      ],
      'Save',
      async (v) => {
        const updated = await api('PATCH', '/users/me', { body: v });
        signedIn({ ...session(), user: { ...session().user, ...updated } });
        toast('Saved');
      },
    ),
    h('h3', {}, 'My pets'),
    pets.items.map((p) =>
      h(
        'div',
        { class: 'card row pet' },
        p.photoUrl ? h('img', { class: 'avatar', src: p.photoUrl, alt: '' }) : h('span', { class: 'avatar' }),
        `${p.name} — ${p.species}, ${p.size}`,
      ),
    ),
    form(
      [
        field('Name', 'name', { required: true }),
        select('Species', 'species', [['dog'], ['cat'], ['other']]),
        select('Size', 'size', [['small'], ['medium'], ['large']]),
      ],
      'Add pet',
      async (v) => {
        await api('POST', '/pets', { body: v });
        view.replaceChildren();
        await me(view);
      },
      { id: 'new-pet' },
    ),
    h('h3', {}, sitter ? 'My sitter profile' : 'Offer pet sitting'),
    form(
      [
        field('Headline', 'headline', { required: true, value: sitter?.headline ?? '' }),
        field('About your home', 'bio', { value: sitter?.bio ?? '' }),
        field('Daily price for boarding (KRW)', 'boarding', {
          type: 'number',
          min: 0,
          value: sitter?.prices.boarding ?? 40000,
        }),
        field('Daily price for walking (KRW)', 'walking', {
          type: 'number',
          min: 0,
          value: sitter?.prices.walking ?? 15000,
        }),
        field('Address', 'address', { required: true, value: sitter?.address ?? 'Jung-gu, Seoul' }),
        field('Latitude', 'lat', { type: 'number', step: 'any', value: sitter?.location.lat ?? 37.5665 }),
        field('Longitude', 'lng', { type: 'number', step: 'any', value: sitter?.location.lng ?? 126.978 }),
      ],
      sitter ? 'Update' : 'Become a sitter',
      async (v) => {
        await api('PUT', '/sitters/me', {
          body: {
            headline: v.headline,
            bio: v.bio,
            services: ['boarding', 'walking'],
            prices: { boarding: Number(v.boarding), walking: Number(v.walking) },
            acceptedSizes: ['small', 'medium', 'large'],
            maxPets: 2,
            location: { lat: Number(v.lat), lng: Number(v.lng) },
            address: v.address,
          },
        });
        toast('Sitter profile saved');
      },
      { id: 'sitter-profile' },
    ),
  );
}

export const mePages = { '/me': me };
