/**
 * @mmsim/plugin-oom-linux — the Linux 6.12 OOM scorer.
 * @module @mmsim/plugin-oom-linux
 */
import { definePlugin, Lifecycle, OOM_SCORER } from '@mmsim/core';
import { LinuxOomScorer } from './oom_kill.js';

export { LinuxOomScorer };

export default definePlugin({
  name: 'oom-linux',
  provides: OOM_SCORER,
  apiVersion: '1',
  description: 'oom_badness = rss + swap entries + page-table pages + oom_score_adj x totalpages/1000 (6.12); -1000 never kills',
  register(container) {
    container.register(OOM_SCORER, { useClass: LinuxOomScorer }, { lifecycle: Lifecycle.ContainerScoped });
  },
});
