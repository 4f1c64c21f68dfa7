// Shoal never maps ports with UPnP or NAT-PMP (swarm-client.ts turns both off). webtorrent takes an
// undefined NatAPI as "no NAT traversal here", as in its browser build, so the UPnP and NAT-PMP
// clients, an XML parser and a process spawner are not loaded at each swarm's start.
export default undefined
