<#
.SYNOPSIS
    Teams media optimizations for a Windows 365 Cloud PC image.

.DESCRIPTION
    Microsoft's list for Teams on a Cloud PC / AVD image:
      1. HKLM\SOFTWARE\Microsoft\Teams  IsWVDEnvironment = 1 (DWORD)
      2. the latest Visual C++ x64 redistributable
      3. the Remote Desktop WebRTC Redirector Service
      4. new Teams provisioned for all users (teamsbootstrapper.exe -p; on 0x80004004 the MSIX is
         provisioned directly)
      5. optional: disableAutoUpdate = 1 (DWORD), switch W365_TEAMS_DISABLE_AUTO_UPDATE
    Components an -m365 base already carries are detected and skipped. Every download goes through
    Invoke-W365VerifiedDownload (retries + Microsoft Authenticode signature). The script ends by
    verifying every component and fails if one is missing.
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $env:W365_BUILD_DIR 'W365.Helpers.psm1') -Force

$teamsKey = 'HKLM:\SOFTWARE\Microsoft\Teams'
$webRtcServiceName = 'RDWebRTCSvc'
$vcRedistUri = 'https://aka.ms/vs/17/release/vc_redist.x64.exe'
$webRtcUri = 'https://aka.ms/msrdcwebrtcsvc/msi'
$bootstrapperUri = 'https://go.microsoft.com/fwlink/?linkid=2243204&clcid=0x409'
$teamsMsixUri = 'https://go.microsoft.com/fwlink/?linkid=2196106'
$disableAutoUpdate = Test-W365Enabled -Name 'W365_TEAMS_DISABLE_AUTO_UPDATE'

function Get-VcRedistX64Version {
    foreach ($path in @(
            'HKLM:\SOFTWARE\Microsoft\VisualStudio\14.0\VC\Runtimes\X64',
            'HKLM:\SOFTWARE\WOW6432Node\Microsoft\VisualStudio\14.0\VC\Runtimes\X64')) {
        $installed = Get-W365RegistryValue -Path $path -Name 'Installed'
        if ($null -ne $installed -and [int]$installed -eq 1) {
            return [string](Get-W365RegistryValue -Path $path -Name 'Version')
        }
    }
    return $null
}

function Test-WebRtcService {
    return @(Get-Service | Where-Object { $_.Name -eq $webRtcServiceName }).Count -eq 1
}

function Get-ProvisionedTeams {
    return @(Get-AppxProvisionedPackage -Online | Where-Object { $_.DisplayName -eq 'MSTeams' })
}

function Test-DwordOne {
    param([Parameter(Mandatory)] [string] $Name)
    $kind = Get-W365RegistryValueKind -Path $teamsKey -Name $Name
    $value = Get-W365RegistryValue -Path $teamsKey -Name $Name
    return ($kind -eq 'DWord' -and $null -ne $value -and [int]$value -eq 1)
}

# --- 1. IsWVDEnvironment ---------------------------------------------------------------
if (Test-DwordOne -Name 'IsWVDEnvironment') {
    Write-W365Log 'IsWVDEnvironment is already 1 (DWORD): skipped.'
}
else {
    Set-W365RegistryValue -Path $teamsKey -Name 'IsWVDEnvironment' -Kind DWord -Value 1
    Write-W365Log 'Set IsWVDEnvironment = 1 (DWORD).'
}

# --- 2. Visual C++ x64 redistributable ---------------------------------------------------
$vcVersion = Get-VcRedistX64Version
if ($null -ne $vcVersion) {
    Write-W365Log "Visual C++ x64 redistributable $vcVersion is already installed: skipped."
}
else {
    $vcRedist = Invoke-W365VerifiedDownload -Uri $vcRedistUri -FileName 'vc_redist.x64.exe'
    # 3010: installed, restart needed; 1638: a newer version is already installed.
    Invoke-W365Process -FilePath $vcRedist -ArgumentList @('/install', '/quiet', '/norestart') -AllowedExitCodes @(0, 1638, 3010) | Out-Null
}

# --- 3. Remote Desktop WebRTC Redirector Service -----------------------------------------
if (Test-WebRtcService) {
    Write-W365Log "$webRtcServiceName is already installed: skipped."
}
else {
    $webRtcMsi = Invoke-W365VerifiedDownload -Uri $webRtcUri -FileName 'MsRdcWebRTCSvc_x64.msi'
    $msiLog = Join-Path (Get-W365WorkDirectory) 'MsRdcWebRTCSvc_install.log'
    Invoke-W365Process -FilePath "$W365SystemRoot\System32\msiexec.exe" -ArgumentList @('/i', "`"$webRtcMsi`"", '/quiet', '/norestart', '/l*v', "`"$msiLog`"") -AllowedExitCodes @(0, 3010) | Out-Null
}

# --- 4. New Teams provisioned for all users ----------------------------------------------
if (@(Get-ProvisionedTeams).Count -gt 0) {
    Write-W365Log "New Teams (MSTeams $(@(Get-ProvisionedTeams)[0].Version)) is already provisioned: skipped."
}
else {
    $webView2 = Get-W365RegistryValue -Path 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\EdgeUpdate\Clients\{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}' -Name 'pv'
    Write-W365Log "WebView2 runtime (per machine): $(if ($null -eq $webView2) { 'not registered' } else { $webView2 })"

    $bootstrapper = Invoke-W365VerifiedDownload -Uri $bootstrapperUri -FileName 'teamsbootstrapper.exe'
    Write-W365Log 'Running teamsbootstrapper.exe -p'
    $output = Invoke-W365Executable -FilePath $bootstrapper -ArgumentList @('-p')
    $exitCode = $LASTEXITCODE
    $text = ($output | Out-String).Trim()
    Write-W365Log "teamsbootstrapper exit code $exitCode, output: $text"
    $jsonStart = $text.IndexOf('{')
    $jsonEnd = $text.LastIndexOf('}')
    if ($jsonStart -lt 0 -or $jsonEnd -lt $jsonStart) {
        throw "teamsbootstrapper.exe printed no JSON result (exit code $exitCode): $text"
    }
    $result = $text.Substring($jsonStart, $jsonEnd - $jsonStart + 1) | ConvertFrom-Json
    $succeeded = @($result.PSObject.Properties | Where-Object { $_.Name -eq 'success' -and $_.Value -eq $true }).Count -eq 1
    $errorCode = @($result.PSObject.Properties | Where-Object { $_.Name -eq 'errorCode' } | ForEach-Object { [string]$_.Value })
    if ($succeeded -and $exitCode -eq 0) {
        Write-W365Log 'teamsbootstrapper provisioned new Teams.'
    }
    elseif ($errorCode -contains '0x80004004') {
        # Seen after an earlier provisioning attempt: provision the MSIX package directly.
        Write-W365Log 'teamsbootstrapper returned 0x80004004: provisioning the MSTeams MSIX directly.'
        $msix = Invoke-W365VerifiedDownload -Uri $teamsMsixUri -FileName 'MSTeams-x64.msix'
        Add-AppxProvisionedPackage -Online -PackagePath $msix -SkipLicense | Out-Null
    }
    else {
        throw "teamsbootstrapper.exe -p failed (exit code $exitCode): $text"
    }
}

# --- 5. Optional: disable Teams auto-update ----------------------------------------------
if ($disableAutoUpdate) {
    Set-W365RegistryValue -Path $teamsKey -Name 'disableAutoUpdate' -Kind DWord -Value 1
    Write-W365Log 'Set disableAutoUpdate = 1 (DWORD).'
}

# --- Verify ------------------------------------------------------------------------------
$missing = New-Object System.Collections.Generic.List[string]
if (-not (Test-DwordOne -Name 'IsWVDEnvironment')) {
    $missing.Add("$teamsKey IsWVDEnvironment = 1 (DWORD)")
}
if ($disableAutoUpdate -and -not (Test-DwordOne -Name 'disableAutoUpdate')) {
    $missing.Add("$teamsKey disableAutoUpdate = 1 (DWORD)")
}
if ($null -eq (Get-VcRedistX64Version)) {
    $missing.Add('Visual C++ x64 redistributable')
}
if (-not (Test-WebRtcService)) {
    $missing.Add("service $webRtcServiceName (Remote Desktop WebRTC Redirector)")
}
if (@(Get-ProvisionedTeams).Count -eq 0) {
    $missing.Add('MSTeams provisioned for all users')
}
if ($missing.Count -gt 0) {
    throw "Teams optimizations incomplete, missing: $($missing -join '; ')"
}
Write-W365Log "Teams optimizations verified: IsWVDEnvironment, VC++ $(Get-VcRedistX64Version), $webRtcServiceName, MSTeams $(@(Get-ProvisionedTeams)[0].Version)."
# Packer ends the step with `exit $LastExitCode`: after the 0x80004004 fallback that is still the
# bootstrapper's failure code, so say success explicitly.
exit 0
