# Writes Shoal's managed policy (%ProgramData%\Shoal\policy.json) from installer properties and,
# when a policy exists, registers the agent as a Windows service (WinSW wrapper, LocalSystem).
# Called by the MSI (deferred custom action, see msi-project-created.mjs) and by the NSIS
# installer (installer.nsh). Example silent rollout:
#   msiexec /i Shoal-0.1.0.msi /qn SHOALSHARING=lan SHOALDOWNCAP=20000000 SHOALMONTHLYUPLOAD=50000000000 ^
#     SHOALPRODUCTID=game SHOALCHANNELURL=https://cdn.example.com/game/channels/stable.json ^
#     SHOALPUBLICKEY=base64key SHOALINSTALLDIR="C:\Games\Game"
#   msiexec /i Shoal-0.1.0.msi /qn SHOALPOLICYFILE=\\fileserver\it\shoal-policy.json
param(
  [string]$PolicyFile = '',
  [string]$Sharing = '',
  [string]$DownCap = '',
  [string]$UpCap = '',
  [string]$MonthlyUpload = '',
  [string]$ProductId = '',
  [string]$ProductName = '',
  [string]$ChannelUrl = '',
  [string]$PublicKey = '',
  [string]$InstallDir = '',
  [string]$AppDir = ''
)
$ErrorActionPreference = 'Stop'
$dir = Join-Path $env:ProgramData 'Shoal'
$target = Join-Path $dir 'policy.json'

function Set-PolicyAcl([string]$path) {
  # Administrators and SYSTEM write, everyone else reads: a user cannot unlock a setting.
  $acl = New-Object System.Security.AccessControl.DirectorySecurity
  $acl.SetAccessRuleProtection($true, $false)
  foreach ($who in @('*S-1-5-32-544', '*S-1-5-18')) {
    $sid = New-Object System.Security.Principal.SecurityIdentifier($who.TrimStart('*'))
    $acl.AddAccessRule((New-Object System.Security.AccessControl.FileSystemAccessRule($sid, 'FullControl', 'ContainerInherit,ObjectInherit', 'None', 'Allow')))
  }
  $users = New-Object System.Security.Principal.SecurityIdentifier('S-1-5-32-545')
  $acl.AddAccessRule((New-Object System.Security.AccessControl.FileSystemAccessRule($users, 'ReadAndExecute', 'ContainerInherit,ObjectInherit', 'None', 'Allow')))
  Set-Acl -Path $path -AclObject $acl
}

function Positive([string]$text, [string]$name) {
  if ($text -eq '') { return $null }
  [long]$n = 0
  if (-not [long]::TryParse($text, [ref]$n) -or $n -le 0) { throw "$name must be a positive whole number of bytes, got '$text'" }
  return $n
}

New-Item -ItemType Directory -Force -Path $dir | Out-Null
Set-PolicyAcl $dir

if ($PolicyFile -ne '') {
  $json = Get-Content -Raw -LiteralPath $PolicyFile
  $null = $json | ConvertFrom-Json  # refuse a file that is not JSON; the agent checks the schema
} else {
  $settings = [ordered]@{}
  if ($Sharing -ne '') {
    if (@('off', 'lan', 'lan+wan') -notcontains $Sharing) { throw "SHOALSHARING must be off, lan or lan+wan, got '$Sharing'" }
    $settings.sharing = [ordered]@{ mode = $Sharing; consentGiven = $true }
  }
  $month = Positive $MonthlyUpload 'SHOALMONTHLYUPLOAD'
  if ($null -ne $month) {
    if (-not $settings.Contains('sharing')) { $settings.sharing = [ordered]@{} }
    $settings.sharing.monthlyUploadCap = $month
  }
  $down = Positive $DownCap 'SHOALDOWNCAP'
  $up = Positive $UpCap 'SHOALUPCAP'
  if ($null -ne $down -or $null -ne $up) {
    $settings.caps = [ordered]@{}
    if ($null -ne $down) { $settings.caps.down = [ordered]@{ global = $down } }
    if ($null -ne $up) { $settings.caps.up = [ordered]@{ global = $up } }
  }
  $policy = [ordered]@{}
  if ($settings.Count -gt 0) { $policy.settings = $settings }
  if ($ProductId -ne '') {
    $product = [ordered]@{ id = $ProductId; channelUrl = $ChannelUrl; publicKey = $PublicKey; installDir = $InstallDir }
    if ($ProductName -ne '') { $product.name = $ProductName }
    $policy.products = @($product)
  }
  if ($policy.Count -eq 0) { exit 0 }  # no properties given: a personal install, no policy
  $json = $policy | ConvertTo-Json -Depth 6
}

$tmp = "$target.tmp"
[System.IO.File]::WriteAllText($tmp, $json, (New-Object System.Text.UTF8Encoding($false)))
Move-Item -Force -LiteralPath $tmp -Destination $target

if ($AppDir -ne '') {
  $service = Join-Path $AppDir 'resources\service\shoal-agent-service.exe'
  if (Test-Path $service) {
    & $service install | Out-Null
    & $service start | Out-Null
  }
}
