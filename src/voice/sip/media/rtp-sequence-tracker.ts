/**
 * Packet loss of a received RTP stream from its sequence numbers, after RFC 3550 appendix A.1 and
 * A.3: the 16-bit sequence number is extended with a count of wraparounds, expected packets are
 * the extended span since the first one, and lost = expected - received. A large jump is taken for
 * a restarted sender only when the next packet confirms it (else it was a stray), and a new SSRC
 * starts a new count, the loss of the old stream kept.
 */

const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
const SEQ_MOD = 65536;

export class RtpSequenceTracker {
  #ssrc: number | undefined;
  #base = 0;
  #max = 0;
  #cycles = 0;
  #received = 0;
  #badSeq: number | undefined;
  #lostBefore = 0;

  update(ssrc: number, seq: number): void {
    if (ssrc !== this.#ssrc) {
      this.#lostBefore += this.#lostNow();
      this.#ssrc = ssrc;
      this.#restart(seq);
      return;
    }
    const delta = (seq - this.#max + SEQ_MOD) % SEQ_MOD;
    if (delta < MAX_DROPOUT) {
      if (seq < this.#max) this.#cycles += SEQ_MOD;
      this.#max = seq;
    } else if (delta <= SEQ_MOD - MAX_MISORDER) {
      if (seq !== this.#badSeq) {
        this.#badSeq = (seq + 1) % SEQ_MOD;
        return;
      }
      this.#lostBefore += this.#lostNow();
      this.#restart(seq);
      return;
    }
    // else: a duplicate or a late packet, received but not moving the highest sequence number.
    this.#received += 1;
  }

  lost(): number {
    return this.#lostBefore + this.#lostNow();
  }

  #restart(seq: number): void {
    this.#base = seq;
    this.#max = seq;
    this.#cycles = 0;
    this.#received = 1;
    this.#badSeq = undefined;
  }

  #lostNow(): number {
    if (this.#ssrc === undefined) return 0;
    return Math.max(0, this.#cycles + this.#max - this.#base + 1 - this.#received);
  }
}
