/** Bottleneck's light build (no Redis), the one Octokit's plugins load: the same API as the package's own types. */
declare module 'bottleneck/light.js' {
  import Bottleneck from 'bottleneck';
  export default Bottleneck;
}
