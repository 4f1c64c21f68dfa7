// Shoal uses TCP peers only. Exporting undefined WebRTC classes makes
// simple-peer report "no WebRTC support" instead of loading a native module.
export const RTCPeerConnection = undefined
export const RTCSessionDescription = undefined
export const RTCIceCandidate = undefined
export default {}
