/**
 * The variable naming a folder one jest run shares between its suites (__tests__/support/
 * global-setup.ts makes it): each environment's synth output (harness/synth.ts) and an
 * initialized PGlite database to copy (harness/pglite-template.ts). Its own module so jest's
 * globalSetup can name it without loading cdktf. Unset (bench, verify:ga): nothing is shared.
 */
export const sharedRunDirVariable = "MAESTRO_TEST_SHARE_DIR";
