/** The media side of the SIP adapter, in one import for the call flows. */
export type { Codec } from './codec.ts';
export { FRAME_MS, SAMPLE_RATE, SAMPLES_PER_FRAME, STATIC_PAYLOAD_TYPE } from './codec.ts';
export { decode, decodeALaw, decodeMuLaw, encode, encodeALaw, encodeMuLaw, transcode } from './g711.ts';
export { DEFAULT_PROMPT_DIR, loadPrompt, parseWav, promptOfPcm, wavOfPcm, type Prompt } from './prompt.ts';
export { buildRtp, parseRtp, type RtpPacket } from './rtp-packet.ts';
export type { RtpEndpoint, RtpRemote, RtpStats } from './rtp-endpoint.ts';
export { RtpPortPool } from './rtp-port-pool.ts';
export { TelephoneEventDecoder } from './telephone-event.ts';
