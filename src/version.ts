/**
 * This library's version (package.json's; test/package.test.ts checks they agree).
 * @group Core
 */
export const VERSION = '0.1.0';
