// Pure: which discovery a swarm client may use for a release. The publisher's scope sets
// the default and the client's own choice (a flag now, the managed policy later) wins.
import type { ReleaseScope } from '../../../../shared/release-schema.ts'

/**
 * BEP 14 local service discovery multicasts the infohash to the client's network segment,
 * so it runs for `lan` and `public` releases unless the client says otherwise. A manifest
 * without a scope predates scopes and counts as `private`.
 */
export function usesLanDiscovery(scope: ReleaseScope | undefined, choice: boolean | undefined): boolean {
  return choice ?? (scope === 'lan' || scope === 'public')
}
