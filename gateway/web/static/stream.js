// The page's one public stream: a snapshot, then deltas in seq order. A dropped
// connection resumes with ?last_seq= (never a reload); a seq out of order is never
// applied: the connection is dropped and resumed from the last applied one.

export class PublicStream {
  constructor(url, { onSnapshot, onMessage, onStatus }) {
    this.url = url;
    this.onSnapshot = onSnapshot;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.lastSeq = null;
    this.ws = null;
    this.connects = 0;
    this.resumes = 0;
    this.gaps = 0;
    this.retry = 250;
  }

  open() {
    const query = this.lastSeq === null ? "" : `?last_seq=${this.lastSeq}`;
    const ws = new WebSocket(this.url + query);
    this.ws = ws;
    this.connects += 1;
    if (this.lastSeq !== null) this.resumes += 1;
    ws.onopen = () => { this.retry = 250; this.onStatus("live"); };
    ws.onmessage = (event) => this.receive(ws, JSON.parse(event.data));
    ws.onclose = (event) => {
      if (ws !== this.ws) return;
      // 4010: the history no longer covers last_seq, start over from a snapshot
      if (event.code === 4010) this.lastSeq = null;
      this.onStatus(`reconnecting (${event.code})`);
      setTimeout(() => this.open(), this.retry);
      this.retry = Math.min(this.retry * 2, 4000);
    };
  }

  receive(ws, message) {
    if (ws !== this.ws) return;
    if (message.type === "dashboard_snapshot") {
      this.lastSeq = message.seq;
      this.onSnapshot(message);
      return;
    }
    if (this.lastSeq !== null && message.seq !== this.lastSeq + 1) {
      if (message.seq <= this.lastSeq) return; // already applied
      this.gaps += 1;
      ws.close(); // resume from what was applied
      return;
    }
    this.lastSeq = message.seq;
    this.onMessage(message);
  }
}
