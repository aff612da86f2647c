<#
.SYNOPSIS
    One Windows Update pass through the built-in Windows Update Agent API
    (Microsoft.Update.Session COM). Switch: W365_WINDOWS_UPDATE; pass: W365_WINDOWS_UPDATE_PASS
    (a number, or "final").

.DESCRIPTION
    Searches for software updates that are not installed, not hidden and not optional
    (BrowseOnly=0: no previews, no feature-update offers), downloads and installs them, and fails
    when any update does not install (result code other than Succeeded). The Packer template
    restarts the VM after every pass, so an update that needs a restart or depends on another is
    picked up by the next one; the "final" pass installs nothing and fails when updates are still
    offered or a restart is still pending. The API refuses remote sessions: Packer runs this
    script as an elevated local task.
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $env:W365_BUILD_DIR 'W365.Helpers.psm1') -Force

$pass = Get-W365Setting -Name 'W365_WINDOWS_UPDATE_PASS'
if (-not (Test-W365Enabled -Name 'W365_WINDOWS_UPDATE')) {
    Write-W365Log "Windows Update pass $pass is off (windows_update = false): the base is patched monthly."
    exit 0
}

# OperationResultCode: 0 NotStarted, 1 InProgress, 2 Succeeded, 3 SucceededWithErrors, 4 Failed, 5 Aborted
$resultNames = @{ 0 = 'NotStarted'; 1 = 'InProgress'; 2 = 'Succeeded'; 3 = 'SucceededWithErrors'; 4 = 'Failed'; 5 = 'Aborted' }
# Without BrowseOnly=0 the search also returns optional previews and feature-update offers.
$criteria = "IsInstalled=0 and IsHidden=0 and Type='Software' and BrowseOnly=0"

$session = New-W365ComObject -ProgId 'Microsoft.Update.Session'
$session.ClientApplicationID = 'w365-image'
$searcher = $session.CreateUpdateSearcher()
Write-W365Log "Windows Update pass ${pass}: searching ($criteria)."
$search = $searcher.Search($criteria)
if ($search.ResultCode -ne 2) {
    throw "Windows Update search finished with $($resultNames[[int]$search.ResultCode])."
}

$selected = New-Object System.Collections.Generic.List[object]
foreach ($update in $search.Updates) {
    $categories = @($update.Categories | ForEach-Object { [string]$_.Name })
    if ($categories -contains 'Upgrades') {
        Write-W365Log "Skipping (feature update: the base image picks the Windows version): $($update.Title)"
        continue
    }
    if ($update.InstallationBehavior.CanRequestUserInput) {
        Write-W365Log "Skipping (needs user input): $($update.Title)"
        continue
    }
    $selected.Add($update)
}

$rebootPending = Test-W365RegistryKey -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired'
if ($pass -eq 'final') {
    $left = @($selected | ForEach-Object { [string]$_.Title })
    if ($left.Count -gt 0 -or $rebootPending) {
        throw "Windows Update is not done after the last pass: $($left.Count) update(s) still offered ($($left -join '; ')), restart pending: $rebootPending."
    }
    Write-W365Log 'Windows Update: nothing left to install and no restart pending.'
    exit 0
}

if ($selected.Count -eq 0) {
    Write-W365Log "Windows Update pass ${pass}: no applicable updates."
    exit 0
}

$toInstall = New-W365ComObject -ProgId 'Microsoft.Update.UpdateColl'
foreach ($update in $selected) {
    if (-not $update.EulaAccepted) {
        $update.AcceptEula()
    }
    Write-W365Log "Selected: $($update.Title)"
    $null = $toInstall.Add($update)
}

$downloader = $session.CreateUpdateDownloader()
$downloader.Updates = $toInstall
$download = $downloader.Download()
if ($download.ResultCode -ne 2) {
    throw "Windows Update download finished with $($resultNames[[int]$download.ResultCode])."
}

$installer = $session.CreateUpdateInstaller()
$installer.Updates = $toInstall
$install = $installer.Install()

$failures = New-Object System.Collections.Generic.List[string]
for ($i = 0; $i -lt $toInstall.Count; $i++) {
    $result = $install.GetUpdateResult($i)
    $title = $toInstall.Item($i).Title
    $name = $resultNames[[int]$result.ResultCode]
    Write-W365Log "$name (HRESULT 0x$('{0:X8}' -f $result.HResult)): $title"
    if ($result.ResultCode -ne 2) {
        $failures.Add("$title -> $name (0x$('{0:X8}' -f $result.HResult))")
    }
}
if ($install.ResultCode -ne 2 -or $failures.Count -gt 0) {
    throw "Windows Update installation failed ($($resultNames[[int]$install.ResultCode])): $($failures -join '; ')"
}
Write-W365Log "Windows Update pass ${pass}: $($toInstall.Count) update(s) installed; restart required: $($install.RebootRequired)."
exit 0
