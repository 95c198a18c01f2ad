/**
 * The variable naming a folder one jest run shares synth output in (harness/synth.ts;
 * __tests__/support/global-setup.ts makes it). Its own module so jest's globalSetup can name it
 * without loading cdktf.
 */
export const sharedSynthDirVariable = "MAESTRO_TEST_SYNTH_DIR";
