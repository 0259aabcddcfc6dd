/**
 * The audio we accept, as pairs of FFmpeg demuxer and decoder, judged from the bytes by ffprobe (the
 * file is probed under a name without an extension, so neither the client's name nor its declared
 * type plays any part). Everything else is refused: other containers, other codecs in these
 * containers (Vorbis in WebM, MP3 in WAV, ALAC in MP4), video, images, text.
 */
export interface AcceptedFormat {
  /** What clients call it (messages, logs). */
  label: string;
  /** ffprobe's `format_name` for this container. */
  formatName: string;
  /** The demuxer forced on the transcode, so it reads the file exactly as the probe did. */
  demuxer: string;
  /** Accepted `codec_name`s of the audio stream. */
  codec: (name: string) => boolean;
}

export const ACCEPTED_FORMATS: readonly AcceptedFormat[] = [
  { label: 'WebM/Opus', formatName: 'matroska,webm', demuxer: 'matroska', codec: (c) => c === 'opus' },
  { label: 'Ogg/Opus', formatName: 'ogg', demuxer: 'ogg', codec: (c) => c === 'opus' },
  { label: 'MP4/AAC', formatName: 'mov,mp4,m4a,3gp,3g2,mj2', demuxer: 'mov', codec: (c) => c === 'aac' },
  { label: 'MP3', formatName: 'mp3', demuxer: 'mp3', codec: (c) => c === 'mp3' },
  { label: 'WAV', formatName: 'wav', demuxer: 'wav', codec: (c) => /^pcm_[a-z0-9]+$/.test(c) },
];

/**
 * The only demuxers FFmpeg may open (`-format_whitelist`): no playlist (HLS, concat) that would make
 * it read other files or the network, no image or video demuxer. With `-protocol_whitelist file` the
 * programs read the one temporary file and nothing else.
 */
export const DEMUXER_WHITELIST = [...new Set(ACCEPTED_FORMATS.map((f) => f.demuxer))].join(',');

export const ACCEPTED_LABELS = ACCEPTED_FORMATS.map((f) => f.label).join(', ');

/** Bounds on what a decoder may be asked to do per second of audio (a many-channel stream is work, not voice). */
export const MAX_CHANNELS = 8;
export const MAX_SAMPLE_RATE = 192_000;
