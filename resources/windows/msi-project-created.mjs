// electron-builder's msiProjectCreated hook: adds Shoal's public MSI properties and the deferred
// custom actions that write the managed policy (write-policy.ps1) and remove the agent service.
// `msiexec /i Shoal.msi /qn SHOALSHARING=lan SHOALDOWNCAP=20000000 …` then locks those settings.
import { readFile, writeFile } from 'node:fs/promises'

/** MSI property → write-policy.ps1 parameter. Public (upper case) and Secure, so /qn can pass them to the elevated install. */
export const POLICY_PROPERTIES = [
  ['SHOALPOLICYFILE', 'PolicyFile'],
  ['SHOALSHARING', 'Sharing'],
  ['SHOALDOWNCAP', 'DownCap'],
  ['SHOALUPCAP', 'UpCap'],
  ['SHOALMONTHLYUPLOAD', 'MonthlyUpload'],
  ['SHOALPRODUCTID', 'ProductId'],
  ['SHOALPRODUCTNAME', 'ProductName'],
  ['SHOALCHANNELURL', 'ChannelUrl'],
  ['SHOALPUBLICKEY', 'PublicKey'],
  ['SHOALINSTALLDIR', 'InstallDir'],
]

const q = '&quot;'
const powershell = `${q}[System64Folder]WindowsPowerShell\\v1.0\\powershell.exe${q} -NoProfile -NonInteractive -ExecutionPolicy Bypass`
// "[APPLICATIONFOLDER]." because the folder ends in a backslash, which would escape the closing quote.
const writePolicy = [
  powershell,
  `-File ${q}[APPLICATIONFOLDER]resources\\service\\write-policy.ps1${q}`,
  ...POLICY_PROPERTIES.map(([property, parameter]) => `-${parameter} ${q}[${property}]${q}`),
  `-AppDir ${q}[APPLICATIONFOLDER].${q}`,
].join(' ')

const MARKER = '<!-- shoal: managed policy -->'

/** Returns the WiX project with Shoal's policy properties and actions added. */
export function addShoalPolicy(wxs) {
  if (wxs.includes(MARKER)) throw new Error('the MSI project already has the Shoal policy actions')
  if (!wxs.includes('</Product>')) throw new Error('no <Product> element in the MSI project')
  const custom = [
    // Deferred, not impersonated: runs elevated as SYSTEM; a Type 34 command line is formatted
    // when the script is built, so the properties are resolved there.
    '      <Custom Action="ShoalWritePolicy" Before="InstallFinalize">NOT REMOVE</Custom>',
    '      <Custom Action="ShoalRemoveService" Before="RemoveFiles">REMOVE="ALL"</Custom>',
  ].join('\n')
  const block = [
    `    ${MARKER}`,
    ...POLICY_PROPERTIES.map(([property]) => `    <Property Id="${property}" Secure="yes"/>`),
    `    <CustomAction Id="ShoalWritePolicy" Directory="APPLICATIONFOLDER" Execute="deferred" Impersonate="no" Return="check" ExeCommand="${writePolicy}"/>`,
    `    <CustomAction Id="ShoalRemoveService" Directory="APPLICATIONFOLDER" Execute="deferred" Impersonate="no" Return="ignore" ExeCommand="${q}[APPLICATIONFOLDER]resources\\service\\shoal-agent-service.exe${q} uninstall"/>`,
  ]
  let out = wxs
  if (out.includes('<InstallExecuteSequence>')) out = out.replace('<InstallExecuteSequence>', `<InstallExecuteSequence>\n${custom}`)
  else block.push('    <InstallExecuteSequence>', custom, '    </InstallExecuteSequence>')
  return out.replace('</Product>', `${block.join('\n')}\n  </Product>`)
}

export async function msiProjectCreated(projectFile) {
  await writeFile(projectFile, addShoalPolicy(await readFile(projectFile, 'utf8')))
}
