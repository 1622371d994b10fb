// Frame times while a run streams: one requestAnimationFrame loop, so the numbers
// are what the user would feel (the gap between two painted frames).

export class FrameMeter {
  constructor() {
    this.running = false
    this.samples = []
    this.startedAt = 0
    this.stoppedAt = 0
  }

  start() {
    if (this.running) return
    this.running = true
    this.samples = []
    this.startedAt = performance.now()
    let last = this.startedAt
    const tick = (now) => {
      if (!this.running) return
      this.samples.push(now - last)
      last = now
      requestAnimationFrame(tick)
    }
    requestAnimationFrame(tick)
  }

  stop() {
    if (!this.running) return
    this.running = false
    this.stoppedAt = performance.now()
  }

  report() {
    const sorted = [...this.samples].sort((a, b) => a - b)
    const at = (q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] : null)
    return {
      frames: sorted.length,
      median: at(0.5),
      p95: at(0.95),
      max: sorted.length ? sorted[sorted.length - 1] : null,
      total: (this.running ? performance.now() : this.stoppedAt) - this.startedAt,
      running: this.running,
    }
  }
}
