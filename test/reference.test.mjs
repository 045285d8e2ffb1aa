// Every op spec on the reference backend (known answers in closed form).
import { runSpecs } from './specs/index.mjs';

runSpecs('reference');
