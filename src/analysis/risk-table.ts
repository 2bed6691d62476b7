/**
 * The documented risk table (docs/analysis.md): what each category costs, depending on its
 * target. Classifiers never invent risk levels inline; they ask this table, so the document
 * and the code cannot drift apart.
 */

import type { HostClass } from '../core/net.js';
import type { Risk } from '../core/risk.js';

/**
 * Where a path points, from the point of view of an agent working in a project directory.
 * - `workspace`: inside the working directory (or relative, without `..`, when it is unknown)
 * - `workspace-root`: the working directory itself, or all of it (`*`, `.`)
 * - `temp`: `/tmp`, `/var/tmp`, `/dev/shm`
 * - `outside`: an absolute path elsewhere (`/app/data`, `../other`)
 * - `home`: the home directory itself or one of its direct children (`~`, `~/Documents`)
 * - `system`: `/` and the system trees (`/etc`, `/usr`, `/var`, `/boot`, …)
 * - `unknown`: not a literal (a variable, a substitution, xargs input)
 */
export type PathZone = 'workspace' | 'workspace-root' | 'temp' | 'outside' | 'home' | 'system' | 'unknown';

/** Every zone, in the order the documentation lists them. */
export const PATH_ZONES: readonly PathZone[] = ['workspace', 'workspace-root', 'temp', 'outside', 'home', 'system', 'unknown'];

/** Every host class, in the order the documentation lists them. */
export const HOST_CLASSES: readonly HostClass[] = ['loopback', 'private', 'unspecified', 'link-local', 'metadata', 'invalid', 'public'];

/** Risk of a delete by where it points and whether it is recursive (or a glob). */
export function deleteRisk(zone: PathZone, recursive: boolean): Risk {
  switch (zone) {
    case 'workspace':
    case 'temp':
      return 'medium';
    case 'workspace-root':
      return recursive ? 'high' : 'medium';
    case 'unknown':
      return 'high';
    case 'outside':
      return recursive ? 'critical' : 'high';
    case 'home':
    case 'system':
      return recursive ? 'critical' : 'high';
  }
}

/** Risk of a write by zone: in the project it is routine. */
export function writeRisk(zone: PathZone): Risk {
  switch (zone) {
    case 'workspace':
    case 'workspace-root':
    case 'temp':
      return 'low';
    case 'outside':
    case 'home':
    case 'unknown':
      return 'medium';
    case 'system':
      return 'high';
  }
}

/** Risk of a connection by the class of its host: an upload costs more than a download. */
export function hostRisk(cls: HostClass, upload: boolean): Risk {
  switch (cls) {
    case 'loopback':
    case 'private':
    case 'unspecified':
      return upload ? 'medium' : 'low';
    case 'link-local':
      return 'high';
    case 'metadata':
      return 'critical';
    case 'invalid':
      return 'high';
    case 'public':
      return upload ? 'high' : 'medium';
  }
}
