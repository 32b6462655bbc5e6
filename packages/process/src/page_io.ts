/**
 * The simulated block device (what mm/page_io.c and the filesystems submit
 * bios to): one FIFO queue, no I/O scheduler, each request served after the
 * ones before it. A request of n pages takes `latencyNs` plus n × 4096
 * bytes at the device's throughput, so I/O costs simulated time on the
 * CLOCK: a reader waits for its request, writeback completes while time
 * passes (Simulator.tick).
 *
 * The default is a SATA SSD: 500 MB/s each way, 100 µs per request, and
 * requests of at most 320 pages (max_sectors_kb 1280, which bdi->io_pages
 * is derived from). Change the numbers on the device object
 * (`pageCache.device`, a swap device's `dev`) to model another disk.
 * @module
 */
import { PAGE_SIZE } from '@mmsim/core';

/** What a device is made of. */
export interface DeviceSpec {
  /** Bytes per second read. */
  readBytesPerSec: number;
  /** Bytes per second written. */
  writeBytesPerSec: number;
  /** Fixed cost of one request (seek, command, completion), ns. */
  latencyNs: number;
  /** Largest request in pages (queue_max_sectors >> 3: bdi->io_pages). */
  ioPages: number;
}

/** A SATA SSD (see the module comment). */
export const DEFAULT_DEVICE: Readonly<DeviceSpec> = Object.freeze({ readBytesPerSec: 500e6, writeBytesPerSec: 500e6, latencyNs: 100_000, ioPages: 320 });

/** One request in the queue: the pages it carries and when the device is done with it. */
export class BioRequest {
  constructor(
    /** Completion time, ns on the simulated clock. */
    readonly done: number,
    readonly write: boolean,
    /** The page-cache pages it reads into or writes from (empty for swap I/O, which is synchronous). */
    readonly pfns: number[],
  ) {}
}

/** A device with a request queue (submit_bio → the device → bio_endio). */
export class BlockDevice implements DeviceSpec {
  readBytesPerSec: number;
  writeBytesPerSec: number;
  latencyNs: number;
  ioPages: number;
  /** When the device finishes what it has been given. */
  busyUntil = 0;
  /** Requests not yet completed, in completion order; `head` is the first. */
  private queue: BioRequest[] = [];
  private head = 0;

  constructor(spec: DeviceSpec = DEFAULT_DEVICE) {
    this.readBytesPerSec = spec.readBytesPerSec;
    this.writeBytesPerSec = spec.writeBytesPerSec;
    this.latencyNs = spec.latencyNs;
    this.ioPages = spec.ioPages;
  }

  /** Service time of a request of `pages` pages. */
  serviceNs(pages: number, write: boolean): number {
    const bps = write ? this.writeBytesPerSec : this.readBytesPerSec;
    return this.latencyNs + Math.ceil((pages * PAGE_SIZE * 1e9) / bps);
  }

  /** Queues a request at time `now` behind what the device is busy with; returns it (its `done` time). */
  submit(now: number, pages: number, write: boolean, pfns: number[]): BioRequest {
    const start = Math.max(now, this.busyUntil);
    const req = new BioRequest(start + this.serviceNs(pages, write), write, pfns);
    this.busyUntil = req.done;
    if (pfns.length > 0) this.queue.push(req);
    return req;
  }

  /** The oldest request not completed, or undefined. */
  peek(): BioRequest | undefined {
    return this.queue[this.head];
  }

  /** Takes the oldest request off the queue (it completed). */
  shift(): BioRequest | undefined {
    const r = this.queue[this.head];
    if (r === undefined) return undefined;
    this.queue[this.head++] = undefined as never;
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return r;
  }

  /** Requests in flight. */
  get inFlight(): number {
    return this.queue.length - this.head;
  }
}
