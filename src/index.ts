// bun-netpoll: the public API. Explicit named exports only.
export { listen, Listener, type AcceptOptions, type ListenOptions, type ListenTcpOptions, type ListenUnixOptions } from "./net/listener.ts";
export { type ListenDatagramFdOptions, type ListenFdOptions } from "./net/adopt.ts";
export { LISTEN_FDS_START, listenSystemd, type ActivatedSocket, type ListenSystemdOptions } from "./net/systemd.ts";
export { ControlTruncatedError, type FdMessage, type PeerCredentials, type ReadFdsOptions } from "./net/fdpass.ts";
export { connect, type ConnectOptions, type ConnectTcpOptions, type ConnectUnixOptions } from "./net/dial.ts";
export { Conn, type IoOptions } from "./net/conn.ts";
export type { SignalOptions } from "./options.ts";
export {
  connectDatagram,
  DatagramConn,
  listenDatagram,
  type ConnectDatagramOptions,
  type Datagram,
  type DatagramTarget,
  type ListenDatagramOptions,
  type ListenUnixgramOptions,
} from "./net/datagram.ts";
export { formatAddr, type Addr, type IpAddr, type UnixAddr } from "./net/addr.ts";
export type { LookupAddress, LookupFunction } from "./net/_resolve.ts";
export { pollFd, PollFd, type PollFdOptions, type PollMode, type WaitOptions } from "./pollfd.ts";
export { AddrError, ClosedError, DeadlineExceededError, NetError, type ErrorContext } from "./errors.ts";
export { runtimeStats, type RuntimeStats } from "./runtime/stats.ts";
export { netpollReady } from "./runtime/loop.ts";
export type { Deadline, Timeout } from "./runtime/deadline.ts";
export {
  after,
  Chan,
  ChannelError,
  go,
  Mutex,
  Once,
  RWMutex,
  select,
  setTaskErrorHandler,
  sleep,
  Ticker,
  WaitGroup,
  type ChanOptions,
  type Received,
  type RecvCase,
  type SelectCase,
  type Selected,
  type SelectOptions,
  type SendCase,
  type SignalCase,
  type TaskErrorHandler,
} from "./sync/index.ts";
export {
  BufferedReader,
  BufferedWriter,
  TooLongError,
  UnexpectedEofError,
  type BufferedReaderOptions,
  type BufferedWriterOptions,
  type BufioReadOptions,
  type ByteReader,
  type ByteWriter,
  type ReadUntilOptions,
} from "./bufio.ts";
export {
  connectTls,
  listenTls,
  TlsConn,
  TlsListener,
  upgradeTls,
  type ConnectTlsOptions,
  type HandshakeOptions,
  type ListenTlsOptions,
  type TlsClientOptions,
  type TlsServerOptions,
  type UpgradeTlsOptions,
} from "./tls.ts";
