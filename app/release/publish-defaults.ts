// Publish's defaults, apart from publish itself: the CLI shows them in its help, and importing
// publish.ts would load the whole publisher (semver, the chunker, the codecs) into every command.

export const DEFAULT_PIECE_LENGTH = 4 * 1024 * 1024
/** Changed files get a patch from each of this many previous versions (README, "Patches"). */
export const DEFAULT_PATCH_FROM_VERSIONS = 2
/** The manifest file gets a delta from each of this many previous versions' (README, "Manifest deltas"). */
export const MANIFEST_DELTA_VERSIONS = 2
