// Why a target can be missed on this kind of machine, and what would close it; shown in
// RESULTS.md only for targets a run missed. Written from measurements (see README).

export const MISSED: Record<string, string> = {}
