//! MD5 of many streams at once.
//!
//! MD5 (the S3 ETag check) is inherently serial within one message: one core hashes one stream at
//! ~650 MB/s even with the assembly of the `md-5` crate, and it was the largest single cost of a
//! snapshot (bench/README.md). Independent messages, though, can be hashed side by side: with the
//! state of 4 or 8 messages held lane by lane (`[u32; L]`), each MD5 step becomes a handful of
//! vector instructions for all lanes at once. Written as plain array code, the compiler turns it
//! into SSE2 on every x86-64 (NEON on arm64): no `unsafe`, no CPU detection. Measured on the
//! benchmark machine (`cargo test --release -p infrasnap-core -- --ignored md5lanes_speed`):
//! 8 lanes 1.8-2.0 GB/s, 4 lanes 1.2-1.3 GB/s, the one-stream assembly 0.7 GB/s, which is
//! still used for one or two streams alone.
//!
//! A [`Md5Stream`] gathers its bytes; once it holds [`READY`] bytes it is offered to a
//! process-wide pool, and when the pool holds [`LANES`] streams, the writer whose offer filled it
//! hashes them all together (on its own thread: no extra thread, no waiting in the common case).
//! A stream that reaches [`FORCE`] bytes before enough others are ready is hashed with whichever
//! streams are waiting (memory per stream stays bounded). [`Md5Stream::finish`] takes the stream
//! out of the pool, waits while another thread is hashing its bytes (a few milliseconds at most),
//! and hashes what is left, side by side with whichever streams are waiting.
//!
//! On a seed snapshot (bench/README.md) MD5 took 1.9 s of CPU instead of 2.7 s: most media
//! objects are hashed 8 at a time; those of 16 MiB and more arrive in 8 MiB ranged parts, in
//! bursts no other stream keeps up with, and are still mostly hashed alone.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use md5::{Digest, Md5};

/// Streams hashed together at most.
pub const LANES: usize = 8;
/// A stream is offered to the pool once it holds this many bytes.
pub const READY: usize = 128 * 1024;
/// ... and hashed with whatever is waiting once it holds this many (bounds memory per stream).
pub const FORCE: usize = 1024 * 1024;

const S: [u32; 64] = [
    7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 7, 12, 17, 22, 5, 9, 14, 20, 5, 9, 14, 20, 5, 9,
    14, 20, 5, 9, 14, 20, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 4, 11, 16, 23, 6, 10, 15,
    21, 6, 10, 15, 21, 6, 10, 15, 21, 6, 10, 15, 21,
];

/// `floor(abs(sin(i + 1)) * 2^32)` (RFC 1321); checked against the formula in a test.
const K: [u32; 64] = [
    0xd76aa478, 0xe8c7b756, 0x242070db, 0xc1bdceee, 0xf57c0faf, 0x4787c62a, 0xa8304613, 0xfd469501,
    0x698098d8, 0x8b44f7af, 0xffff5bb1, 0x895cd7be, 0x6b901122, 0xfd987193, 0xa679438e, 0x49b40821,
    0xf61e2562, 0xc040b340, 0x265e5a51, 0xe9b6c7aa, 0xd62f105d, 0x02441453, 0xd8a1e681, 0xe7d3fbc8,
    0x21e1cde6, 0xc33707d6, 0xf4d50d87, 0x455a14ed, 0xa9e3e905, 0xfcefa3f8, 0x676f02d9, 0x8d2a4c8a,
    0xfffa3942, 0x8771f681, 0x6d9d6122, 0xfde5380c, 0xa4beea44, 0x4bdecfa9, 0xf6bb4b60, 0xbebfbc70,
    0x289b7ec6, 0xeaa127fa, 0xd4ef3085, 0x04881d05, 0xd9d4d039, 0xe6db99e5, 0x1fa27cf8, 0xc4ac5665,
    0xf4292244, 0x432aff97, 0xab9423a7, 0xfc93a039, 0x655b59c3, 0x8f0ccc92, 0xffeff47d, 0x85845dd1,
    0x6fa87e4f, 0xfe2ce6e0, 0xa3014314, 0x4e0811a1, 0xf7537e82, 0xbd3af235, 0x2ad7d2bb, 0xeb86d391,
];

const INIT: [u32; 4] = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476];

/// `[f(0), f(1), ..., f(L-1)]`, written so that the compiler sees one vector operation.
macro_rules! lanewise {
    ($L:ident, |$i:ident| $e:expr) => {{
        let mut out = [0u32; $L];
        let mut $i = 0;
        while $i < $L {
            out[$i] = $e;
            $i += 1;
        }
        out
    }};
}

/// The MD5 state of `L` messages, word by word.
#[derive(Clone, Copy)]
struct Lanes<const L: usize> {
    a: [u32; L],
    b: [u32; L],
    c: [u32; L],
    d: [u32; L],
}

impl<const L: usize> Lanes<L> {
    fn load(states: &[[u32; 4]]) -> Self {
        let at = |lane: usize, w: usize| states[lane.min(states.len() - 1)][w];
        Lanes {
            a: lanewise!(L, |i| at(i, 0)),
            b: lanewise!(L, |i| at(i, 1)),
            c: lanewise!(L, |i| at(i, 2)),
            d: lanewise!(L, |i| at(i, 3)),
        }
    }

    fn lane(&self, i: usize) -> [u32; 4] {
        [self.a[i], self.b[i], self.c[i], self.d[i]]
    }

    /// One 64-byte block of every lane; `m[w][lane]` is word `w` of that lane's block.
    #[inline(always)]
    fn compress(&mut self, m: &[[u32; L]; 16]) {
        let (mut a, mut b, mut c, mut d) = (self.a, self.b, self.c, self.d);
        let mut i = 0;
        while i < 64 {
            let (f, g) = match i / 16 {
                0 => (lanewise!(L, |j| (b[j] & c[j]) | (!b[j] & d[j])), i),
                1 => (
                    lanewise!(L, |j| (d[j] & b[j]) | (!d[j] & c[j])),
                    (5 * i + 1) % 16,
                ),
                2 => (lanewise!(L, |j| b[j] ^ c[j] ^ d[j]), (3 * i + 5) % 16),
                _ => (lanewise!(L, |j| c[j] ^ (b[j] | !d[j])), (7 * i) % 16),
            };
            let (k, s, mg) = (K[i], S[i], &m[g]);
            let na = lanewise!(L, |j| {
                let t = a[j].wrapping_add(f[j]).wrapping_add(mg[j]).wrapping_add(k);
                b[j].wrapping_add(t.rotate_left(s))
            });
            a = d;
            d = c;
            c = b;
            b = na;
            i += 1;
        }
        self.a = lanewise!(L, |j| self.a[j].wrapping_add(a[j]));
        self.b = lanewise!(L, |j| self.b[j].wrapping_add(b[j]));
        self.c = lanewise!(L, |j| self.c[j].wrapping_add(c[j]));
        self.d = lanewise!(L, |j| self.d[j].wrapping_add(d[j]));
    }

    /// Fold `n` blocks of every lane; `data[lane]` holds at least `64 * n` bytes. Not inlined:
    /// inlined into its caller, the compiler no longer keeps the lanes in vector registers (a
    /// third of the speed, measured).
    #[inline(never)]
    fn blocks(&mut self, data: &[&[u8]; L], n: usize) {
        for blk in 0..n {
            let mut m = [[0u32; L]; 16];
            for (lane, d) in data.iter().enumerate() {
                let b = &d[blk * 64..blk * 64 + 64];
                for (w, word) in m.iter_mut().enumerate() {
                    word[lane] = u32::from_le_bytes(b[w * 4..w * 4 + 4].try_into().expect("4"));
                }
            }
            self.compress(&m);
        }
    }
}

/// Fold `n` blocks of each of `states.len()` (at most `L`) messages side by side.
fn fold_lanes<const L: usize>(states: &mut [[u32; 4]], data: &[&[u8]], n: usize) {
    let mut lanes = Lanes::<L>::load(states);
    // Unused lanes ride along on the first message's bytes; their results are dropped.
    let slices: [&[u8]; L] = std::array::from_fn(|i| data[i.min(data.len() - 1)]);
    lanes.blocks(&slices, n);
    for (i, st) in states.iter_mut().enumerate() {
        *st = lanes.lane(i);
    }
}

/// One message alone: the assembly of the `md5-asm` crate where there is one (~30% faster than
/// the one-lane form of [`Lanes`]).
fn fold_one(state: &mut [u32; 4], data: &[u8]) {
    #[cfg(all(target_arch = "x86_64", not(target_os = "windows")))]
    md5_asm::compress(state, data.as_chunks::<64>().0);
    #[cfg(not(all(target_arch = "x86_64", not(target_os = "windows"))))]
    fold_lanes::<1>(std::slice::from_mut(state), &[data], data.len() / 64);
}

/// Fold whole blocks of several messages into their states. `data[i]` is a multiple of 64 bytes
/// long; lengths may differ. Round by round, the messages with blocks left are folded side by
/// side, as far as the shortest of them goes, with the narrowest kernel that holds them.
fn fold(states: &mut [[u32; 4]], data: &[&[u8]]) {
    debug_assert!(states.len() == data.len() && data.iter().all(|d| d.len() % 64 == 0));
    let mut done = vec![0usize; data.len()]; // bytes folded per message
    loop {
        let active: Vec<usize> = (0..data.len())
            .filter(|&i| done[i] < data[i].len())
            .take(LANES)
            .collect();
        if active.len() <= 2 {
            // One or two: the one-stream assembly, one after the other, beats a half-empty
            // four-lane kernel (per message ~650 MB/s against ~300-350).
            for &i in &active {
                fold_one(&mut states[i], &data[i][done[i]..]);
                done[i] = data[i].len();
            }
            if active.is_empty() {
                return;
            }
            continue;
        }
        let Some(n) = active.iter().map(|&i| (data[i].len() - done[i]) / 64).min() else {
            return;
        };
        let mut st: Vec<[u32; 4]> = active.iter().map(|&i| states[i]).collect();
        let slices: Vec<&[u8]> = active.iter().map(|&i| &data[i][done[i]..]).collect();
        if active.len() <= 4 {
            fold_lanes::<4>(&mut st, &slices, n);
        } else {
            fold_lanes::<LANES>(&mut st, &slices, n);
        }
        for (&i, s) in active.iter().zip(st) {
            states[i] = s;
            done[i] += n * 64;
        }
    }
}

/// The digest of a message whose first `hashed` bytes (a multiple of 64) are folded into `state`
/// and whose remaining bytes are `rest`.
fn finish_one(mut state: [u32; 4], hashed: u64, rest: &[u8]) -> [u8; 16] {
    let whole = rest.len() / 64 * 64;
    fold(std::slice::from_mut(&mut state), &[&rest[..whole]]);
    let mut tail = rest[whole..].to_vec();
    tail.push(0x80);
    while tail.len() % 64 != 56 {
        tail.push(0);
    }
    let bits = (hashed + rest.len() as u64).wrapping_mul(8);
    tail.extend_from_slice(&bits.to_le_bytes());
    fold(std::slice::from_mut(&mut state), &[&tail]);
    let mut out = [0u8; 16];
    for (chunk, w) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&w.to_le_bytes());
    }
    out
}

struct State {
    /// Folded bytes so far (a multiple of 64), and the state after them.
    h: [u32; 4],
    hashed: u64,
    /// Bytes not folded yet, in order.
    pending: Vec<u8>,
    /// Another thread is folding bytes taken from `pending`.
    busy: bool,
    /// In the pool, waiting for partners.
    queued: bool,
}

struct Cell {
    state: Mutex<State>,
    idle: Condvar,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Streams ready to be hashed, waiting for partners. Lock order: the pool, then a stream.
static POOL: Mutex<Vec<Arc<Cell>>> = Mutex::new(Vec::new());

/// An MD5 being computed; see the module documentation.
pub struct Md5Stream {
    cell: Arc<Cell>,
}

impl Default for Md5Stream {
    fn default() -> Self {
        Self::new()
    }
}

impl Md5Stream {
    pub fn new() -> Self {
        Md5Stream {
            cell: Arc::new(Cell {
                state: Mutex::new(State {
                    h: INIT,
                    hashed: 0,
                    pending: Vec::new(),
                    busy: false,
                    queued: false,
                }),
                idle: Condvar::new(),
            }),
        }
    }

    pub fn update(&mut self, bytes: &[u8]) {
        let force = {
            let mut s = lock(&self.cell.state);
            s.pending.extend_from_slice(bytes);
            let n = s.pending.len();
            if s.busy || n < READY || (s.queued && n < FORCE) {
                return;
            }
            n >= FORCE
        };
        let batch = {
            let mut pool = lock(&POOL);
            {
                let mut s = lock(&self.cell.state);
                if s.busy {
                    return;
                }
                if !s.queued {
                    s.queued = true;
                    pool.push(self.cell.clone());
                }
            }
            if pool.len() >= LANES {
                claim(&mut pool, LANES, None)
            } else if force {
                // This one and whichever are waiting.
                pool.retain(|c| !Arc::ptr_eq(c, &self.cell));
                claim(&mut pool, LANES - 1, Some(&self.cell))
            } else {
                return;
            }
        };
        hash_batch(batch);
    }

    /// The digest of every byte given. Consumes the stream.
    pub fn finish(self) -> [u8; 16] {
        {
            let mut pool = lock(&POOL);
            let mut s = lock(&self.cell.state);
            if s.queued {
                s.queued = false;
                pool.retain(|c| !Arc::ptr_eq(c, &self.cell));
            }
        }
        // Out of the pool, so once no other thread is folding its bytes, it is this thread's.
        let pending = {
            let mut s = lock(&self.cell.state);
            while s.busy {
                s = self
                    .cell
                    .idle
                    .wait(s)
                    .unwrap_or_else(PoisonError::into_inner);
            }
            s.pending.len()
        };
        if pending >= 64 * 64 {
            // Its last whole blocks, side by side with whichever streams are waiting.
            let batch = {
                let mut pool = lock(&POOL);
                (!pool.is_empty()).then(|| claim(&mut pool, LANES - 1, Some(&self.cell)))
            };
            if let Some(batch) = batch {
                hash_batch(batch);
            }
        }
        let s = lock(&self.cell.state);
        if s.hashed == 0 {
            // Never folded with others: the one-stream assembly is the fastest way.
            return Md5::digest(&s.pending).into();
        }
        finish_one(s.h, s.hashed, &s.pending)
    }
}

impl Drop for Md5Stream {
    fn drop(&mut self) {
        let queued = lock(&self.cell.state).queued;
        if queued {
            let mut pool = lock(&POOL);
            pool.retain(|c| !Arc::ptr_eq(c, &self.cell));
        }
    }
}

/// Take up to `n` streams out of the pool, plus `own` (a stream that is neither queued nor busy),
/// and mark them busy: from here on only the caller's [`hash_batch`] touches their state. Called
/// with the pool locked, so no stream is ever in two batches.
fn claim(pool: &mut Vec<Arc<Cell>>, n: usize, own: Option<&Arc<Cell>>) -> Vec<Arc<Cell>> {
    let n = n.min(pool.len());
    let batch: Vec<Arc<Cell>> = pool.drain(..n).chain(own.cloned()).collect();
    for c in &batch {
        let mut s = lock(&c.state);
        debug_assert!(!s.busy);
        s.queued = false;
        s.busy = true;
    }
    batch
}

/// Take the whole blocks of every stream of a claimed `batch`, fold them side by side, put the
/// states back.
fn hash_batch(batch: Vec<Arc<Cell>>) {
    let mut states = Vec::with_capacity(batch.len());
    let mut taken = Vec::with_capacity(batch.len());
    for c in &batch {
        let mut s = lock(&c.state);
        // The whole blocks go; the rest (under 64 bytes) stays, in a buffer that has room for the
        // next round (no regrowing from nothing).
        let whole = s.pending.len() / 64 * 64;
        let mut next = Vec::with_capacity(READY + 64 * 1024);
        next.extend_from_slice(&s.pending[whole..]);
        s.pending.truncate(whole);
        taken.push(std::mem::replace(&mut s.pending, next));
        states.push(s.h);
    }
    let slices: Vec<&[u8]> = taken.iter().map(Vec::as_slice).collect();
    fold(&mut states, &slices);
    for ((c, h), data) in batch.iter().zip(states).zip(&taken) {
        let mut s = lock(&c.state);
        s.h = h;
        s.hashed += data.len() as u64;
        s.busy = false;
        c.idle.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(data: &[u8]) -> [u8; 16] {
        Md5::digest(data).into()
    }

    /// Deterministic bytes (xorshift), so failures reproduce.
    fn bytes(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9e3779b97f4a7c15) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect()
    }

    #[test]
    fn constants_are_those_of_rfc_1321() {
        for (i, k) in K.iter().enumerate() {
            let want = ((i as f64 + 1.0).sin().abs() * 4294967296.0) as u32;
            assert_eq!(*k, want, "K[{i}]");
        }
    }

    #[test]
    fn every_kernel_width_matches_the_reference() {
        for n in [1usize, 2, 3, 4, 5, 7, 8, 9, 16, 17] {
            let msgs: Vec<Vec<u8>> = (0..n).map(|i| bytes(i as u64, 64 * (i % 5 + 1))).collect();
            let mut states = vec![INIT; n];
            let slices: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
            fold(&mut states, &slices);
            for (i, m) in msgs.iter().enumerate() {
                assert_eq!(
                    finish_one(states[i], m.len() as u64, &[]),
                    reference(m),
                    "{n} lanes, lane {i}"
                );
            }
        }
    }

    #[test]
    fn tails_of_every_length_match_the_reference() {
        for len in 0..200 {
            let m = bytes(len as u64, len);
            assert_eq!(finish_one(INIT, 0, &m), reference(&m), "{len} bytes");
            let mut s = Md5Stream::new();
            s.update(&m);
            assert_eq!(s.finish(), reference(&m), "{len} bytes through a stream");
        }
    }

    #[test]
    fn streams_written_from_many_threads_in_odd_pieces_match_the_reference() {
        // Enough streams and bytes to fill the pool, force lone streams, and hash other
        // threads' streams; sizes straddle READY and FORCE.
        let sizes = [
            0,
            1,
            63,
            64,
            65,
            READY - 1,
            READY,
            READY + 1,
            FORCE - 7,
            FORCE + 129,
            3 * FORCE + 5,
            2_500_000,
        ];
        std::thread::scope(|scope| {
            for t in 0..12u64 {
                scope.spawn(move || {
                    for (i, &size) in sizes.iter().enumerate() {
                        let seed = t * 100 + i as u64;
                        let data = bytes(seed, size);
                        let mut s = Md5Stream::new();
                        let mut at = 0;
                        let mut step = 1 + (seed as usize * 7919) % 70_000;
                        while at < data.len() {
                            let end = (at + step).min(data.len());
                            s.update(&data[at..end]);
                            at = end;
                            step = 1 + (step * 31 + 17) % 90_000;
                        }
                        assert_eq!(s.finish(), reference(&data), "thread {t} size {size}");
                    }
                });
            }
        });
    }

    #[test]
    fn a_finished_or_dropped_stream_leaves_the_pool() {
        let in_pool = |cell: &Arc<Cell>| lock(&POOL).iter().any(|c| Arc::ptr_eq(c, cell));
        let mut s = Md5Stream::new();
        s.update(&bytes(1, READY + 10));
        let cell = s.cell.clone();
        drop(s);
        assert!(!in_pool(&cell));
        let data = bytes(2, READY + 100);
        let mut s = Md5Stream::new();
        s.update(&data);
        let cell = s.cell.clone();
        assert_eq!(s.finish(), reference(&data));
        assert!(!in_pool(&cell));
    }
}
/// Throughput of each kernel width; run by hand (`--ignored`), with `--release`.
#[cfg(test)]
mod speed {
    use super::*;

    #[test]
    #[ignore]
    fn md5lanes_speed() {
        let bufs: Vec<Vec<u8>> = (0..LANES).map(|i| vec![i as u8; 8 << 20]).collect();
        for n in [1, 4, LANES] {
            let slices: Vec<&[u8]> = bufs.iter().take(n).map(Vec::as_slice).collect();
            let mut st = vec![INIT; n];
            let t = std::time::Instant::now();
            if n == 1 {
                fold(&mut st, &slices);
            } else if n == 4 {
                fold_lanes::<4>(&mut st, &slices, (8 << 20) / 64);
            } else {
                fold_lanes::<LANES>(&mut st, &slices, (8 << 20) / 64);
            }
            let mb = (n * (8 << 20)) as f64 / 1e6;
            eprintln!("{n} lanes: {:.0} MB/s", mb / t.elapsed().as_secs_f64());
        }
    }
}
