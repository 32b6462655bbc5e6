import { memoryModelConformance } from '@mmsim/testkit';

memoryModelConformance({ name: 'flatmem', plugin: 'flatmem' });
