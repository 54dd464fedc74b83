/** Instance-wide named values (the dummy hash, the shared HMAC secret): the first writer wins. */
import type { DialectBinding } from './binding.js'
import type { Store } from './store.js'

export type SettingOperations = Pick<Store, 'getSetting' | 'putSettingIfAbsent'>

export function settingOperations({ db }: DialectBinding): SettingOperations {
  const readSetting = async (name: string) =>
    (await db.selectFrom('settings').select('value').where('name', '=', name).executeTakeFirst())?.value

  return {
    getSetting: readSetting,

    async putSettingIfAbsent(name, value) {
      await db
        .insertInto('settings')
        .values({ name, value })
        .onConflict((oc) => oc.column('name').doNothing())
        .execute()
      const stored = await readSetting(name)
      // Settings are never deleted, so the row inserted or kept above is still there.
      if (stored === undefined) throw new Error(`setting "${name}" vanished after it was written`)
      return stored
    },
  }
}
