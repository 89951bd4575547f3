// Engine URLs as drivers write and check them (tcp://HOST:PORT, IPv6 in brackets), shared with
// core so a driver and `env`/`ls` never disagree on the form.
export { checkEngineUrl, formatEngineUrl } from '../core/engine-url.js'
