<#
    Machines for the scenarios: New-CleanBase is a fresh VM of MicrosoftWindowsDesktop/windows-ent-cpc
    win11-25h2-ent-cpc as Azure hands it to Packer; each scenario changes what it is about.
    New-FakeMachine lays a scenario out as a machine folder the runner and FakeWindows.ps1 use.
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$Gibibyte = [uint64]1073741824
$Mebibyte = [uint64]1048576

function New-FakeList {
    param([object[]] $Items = @())
    $list = New-Object System.Collections.ArrayList
    foreach ($item in $Items) {
        $null = $list.Add($item)
    }
    return , $list
}

function New-CleanBase {
    param([string] $Sku = 'win11-25h2-ent-cpc')
    $nt = 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
    $registry = @{}
    $set = {
        param($path, $name, $value, $kind)
        $key = $path.ToLowerInvariant()
        if (-not $registry.ContainsKey($key)) {
            $registry[$key] = @{ path = $path; values = @{} }
        }
        $registry[$key].values[$name.ToLowerInvariant()] = @{ name = $name; kind = $kind; value = $value }
    }
    & $set $nt 'EditionID' 'Enterprise' 'String'
    & $set $nt 'InstallationType' 'Client' 'String'
    & $set $nt 'CurrentBuild' '26200' 'String'
    & $set $nt 'UBR' 6899 'DWord'
    & $set $nt 'DisplayVersion' '25H2' 'String'
    # Windows 11 still says "Windows 10" here.
    & $set $nt 'ProductName' 'Windows 10 Enterprise' 'String'
    & $set 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State' 'ImageState' 'IMAGE_STATE_COMPLETE' 'String'
    & $set 'HKLM:\SYSTEM\CurrentControlSet\Control' 'PEFirmwareType' 2 'DWord'
    & $set 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\EdgeUpdate\Clients\{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}' 'pv' '142.0.3595.94' 'String'
    $edge = 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\EdgeUpdate\Clients\{56EB18F8-B008-4CBD-B6D2-8C97FE7E9062}'
    & $set $edge 'pv' '142.0.3595.94' 'String'
    & $set $edge 'name' 'Microsoft Edge' 'String'
    $uninstall = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall'
    $uninstall32 = 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall'
    foreach ($entry in @(
            @($uninstall, '{0A1B2C3D-0000-4000-8000-000000000001}', 'Microsoft Update Health Tools', '5.72.0.0', $null),
            @($uninstall32, 'Microsoft Edge', 'Microsoft Edge', '142.0.3595.94', $null),
            @($uninstall32, 'Microsoft EdgeWebView', 'Microsoft Edge WebView2 Runtime', '142.0.3595.94', $null),
            # An MSI payload Windows hides from Programs and Features.
            @($uninstall, '{9A25302D-30C0-39D9-BD6F-21E6EC160475}', 'Microsoft .NET Host - 8.0.11 (x64)', '64.44.23133', 1))) {
        & $set "$($entry[0])\$($entry[1])" 'DisplayName' $entry[2] 'String'
        & $set "$($entry[0])\$($entry[1])" 'DisplayVersion' $entry[3] 'String'
        & $set "$($entry[0])\$($entry[1])" 'Publisher' 'Microsoft Corporation' 'String'
        if ($null -ne $entry[4]) {
            & $set "$($entry[0])\$($entry[1])" 'SystemComponent' $entry[4] 'DWord'
        }
    }

    $imds = @{
        compute = @{
            azEnvironment  = 'AzurePublicCloud'
            name           = 'pkrvmw365test'
            osType         = 'Windows'
            vmSize         = 'Standard_D4s_v5'
            storageProfile = @{
                imageReference = @{ publisher = 'MicrosoftWindowsDesktop'; offer = 'windows-ent-cpc'; sku = $Sku; version = 'latest'; exactVersion = '26200.6899.251112' }
                osDisk         = @{ diskSizeGB = '64'; osType = 'Windows' }
                dataDisks      = @()
            }
            securityProfile = @{ secureBootEnabled = 'false'; virtualTpmEnabled = 'false' }
        }
    }

    return @{
        computerName      = 'pkrvmw365test'
        buildUser         = 'packer'
        clockTicks        = ([DateTime]::new(2026, 12, 3, 8, 0, 0, [DateTimeKind]::Utc)).Ticks
        session           = 'winrm'
        restarts          = 0
        events            = (New-FakeList)
        registry          = $registry
        os                = @{ productType = 1; architecture = '64-bit'; caption = 'Microsoft Windows 11 Enterprise' }
        computerSystem    = @{ partOfDomain = $false; domain = 'WORKGROUP' }
        dsregcmd          = @{ exitCode = 0; azureAdJoined = 'NO'; enterpriseJoined = 'NO'; domainJoined = 'NO' }
        disk              = @{ number = 0; size = 64 * $Gibibyte }
        partitions        = (New-FakeList @(
                @{ diskNumber = 0; partitionNumber = 1; type = 'System'; gptType = '{c12a7328-f81f-11d2-ba4b-00a0c93ec93b}'; size = 100 * $Mebibyte; offset = $Mebibyte; driveLetter = ''; isBoot = $false; isSystem = $true },
                @{ diskNumber = 0; partitionNumber = 2; type = 'Reserved'; gptType = '{e3c9e316-0b5c-4db8-817d-f92df00215ae}'; size = 16 * $Mebibyte; offset = 101 * $Mebibyte; driveLetter = ''; isBoot = $false; isSystem = $false },
                @{ diskNumber = 0; partitionNumber = 3; type = 'Basic'; gptType = '{ebd0a0a2-b9e5-4433-87c0-68b6b72699c7}'; size = 64 * $Gibibyte - 118 * $Mebibyte; offset = 117 * $Mebibyte; driveLetter = 'C'; isBoot = $true; isSystem = $false }
            ))
        winRe             = @{ status = 'Enabled'; location = '\\?\GLOBALROOT\device\harddisk0\partition3\Recovery\WindowsRE' }
        bitLocker         = (New-FakeList @(@{ mountPoint = 'C:'; volumeType = 'OperatingSystem'; volumeStatus = 'FullyDecrypted'; protectionStatus = 'Off'; encryptionPercentage = 0; encryptionMethod = 'None' }))
        services          = (New-FakeList @(
                @{ name = 'RdAgent'; displayName = 'RdAgent'; status = 'Running'; startType = 'Automatic' },
                @{ name = 'WindowsAzureGuestAgent'; displayName = 'Windows Azure Guest Agent'; status = 'Running'; startType = 'Automatic' },
                @{ name = 'wuauserv'; displayName = 'Windows Update'; status = 'Running'; startType = 'Manual' }
            ))
        processes         = (New-FakeList)
        scheduledTasks    = @{ '\Microsoft\Windows\WindowsUpdate\Scheduled Start' = @{ state = 'Ready' } }
        appxProvisioned   = (New-FakeList @(
                @{ displayName = 'Microsoft.WindowsNotepad'; packageName = 'Microsoft.WindowsNotepad_11.2508.38.0_neutral_~_8wekyb3d8bbwe'; version = '11.2508.38.0' },
                @{ displayName = 'Microsoft.WindowsTerminal'; packageName = 'Microsoft.WindowsTerminal_1.23.12811.0_neutral_~_8wekyb3d8bbwe'; version = '1.23.12811.0' },
                @{ displayName = 'Microsoft.BingNews'; packageName = 'Microsoft.BingNews_4.55.62231.0_neutral_~_8wekyb3d8bbwe'; version = '4.55.62231.0' },
                @{ displayName = 'Microsoft.Paint'; packageName = 'Microsoft.Paint_11.2508.361.0_neutral_~_8wekyb3d8bbwe'; version = '11.2508.361.0' }
            ))
        appxInstalled     = (New-FakeList @(
                @{ name = 'Microsoft.VCLibs.140.00'; packageFullName = 'Microsoft.VCLibs.140.00_14.0.33519.0_x64__8wekyb3d8bbwe'; version = '14.0.33519.0'; isFramework = $true; nonRemovable = $false; signatureKind = 'Store'; users = (New-FakeList @(@{ userName = 'pkrvmw365test\packer'; sid = 'S-1-5-21-1004336348-1177238915-682003330-500'; installState = 'Installed' })) },
                @{ name = 'Microsoft.WindowsNotepad'; packageFullName = 'Microsoft.WindowsNotepad_11.2508.38.0_x64__8wekyb3d8bbwe'; version = '11.2508.38.0'; isFramework = $false; nonRemovable = $false; signatureKind = 'Store'; users = (New-FakeList) }
            ))
        startMenuShortcuts = @('Accessibility\Narrator.lnk', 'Administrative Tools\Event Viewer.lnk', 'Microsoft Edge.lnk', 'OneDrive.lnk', 'Windows PowerShell\Windows PowerShell.lnk')
        unattendFiles     = @{ 'Panther\Unattend.xml' = '<?xml version="1.0" encoding="utf-8"?><unattend xmlns="urn:schemas-microsoft-com:unattend"><settings pass="specialize"><component name="Microsoft-Windows-Shell-Setup"><ComputerName>pkrvmw365test</ComputerName></component></settings></unattend>' }
        downloads         = @{
            'https://aka.ms/vs/17/release/vc_redist.x64.exe'                    = @{ attempts = 0; failFirst = 0; signature = 'microsoft' }
            'https://aka.ms/msrdcwebrtcsvc/msi'                                 = @{ attempts = 0; failFirst = 0; signature = 'microsoft' }
            'https://go.microsoft.com/fwlink/?linkid=2243204&clcid=0x409'       = @{ attempts = 0; failFirst = 0; signature = 'microsoft' }
            'https://go.microsoft.com/fwlink/?linkid=2196106'                   = @{ attempts = 0; failFirst = 0; signature = 'microsoft'; provisions = @{ displayName = 'MSTeams'; packageName = 'MSTeams_25290.205.3950.9185_x64__8wekyb3d8bbwe'; version = '25290.205.3950.9185' } }
        }
        teamsBootstrapper = @{ exitCode = 0; provisions = $true; output = '{"success":true}' }
        updates           = (New-FakeList)
        # Installed updates of the 26200.6899 base (Win32_QuickFixEngineering: InstalledOn as WMI gives it, M/d/yyyy).
        hotFixes          = (New-FakeList @(
                @{ id = 'KB5065789'; description = 'Update'; installedBy = 'NT AUTHORITY\SYSTEM'; installedOn = '10/14/2025' },
                @{ id = 'KB5066835'; description = 'Security Update'; installedBy = 'NT AUTHORITY\SYSTEM'; installedOn = '10/14/2025' }
            ))
        defender          = @{ platform = '4.18.25090.3009'; engine = '1.1.25090.3001'; signatures = '1.441.153.0' }
        # Product versions of files on C: (by path under C:, forward slashes): the OneDrive installer Windows ships.
        fileVersions      = @{ 'Windows/System32/OneDriveSetup.exe' = '25.174.0907.0003' }
        imdsJson          = ($imds | ConvertTo-Json -Depth 10)
        sysprep           = @{ outcome = 'sealed'; seconds = 90; startedTicks = $null; done = $false }
    }
}

function Add-M365Components {
    <# What an -m365 base already carries: Teams provisioned, its registry value, VC++ and the WebRTC service. #>
    param([hashtable] $State)
    $State.registry['hklm:\software\microsoft\teams'] = @{ path = 'HKLM:\SOFTWARE\Microsoft\Teams'; values = @{ iswvdenvironment = @{ name = 'IsWVDEnvironment'; kind = 'DWord'; value = 1 } } }
    $State.registry['hklm:\software\microsoft\visualstudio\14.0\vc\runtimes\x64'] = @{ path = 'HKLM:\SOFTWARE\Microsoft\VisualStudio\14.0\VC\Runtimes\X64'; values = @{ installed = @{ name = 'Installed'; kind = 'DWord'; value = 1 }; version = @{ name = 'Version'; kind = 'String'; value = 'v14.44.35211.00' } } }
    $null = $State.services.Add(@{ name = 'RDWebRTCSvc'; displayName = 'Remote Desktop WebRTC Redirector Service'; status = 'Running'; startType = 'Automatic' })
    $null = $State.appxProvisioned.Add(@{ displayName = 'MSTeams'; packageName = 'MSTeams_25290.205.3950.9185_x64__8wekyb3d8bbwe'; version = '25290.205.3950.9185' })
}

function Set-FakeMonthlyRefresh {
    <# What a month of servicing changes on a base: the cumulative update (UBR, its KB) and Microsoft Edge. #>
    param([hashtable] $State, [int] $Ubr, [string] $HotFixId, [string] $InstalledOn, [string] $EdgeVersion)
    $State.registry['hklm:\software\microsoft\windows nt\currentversion'].values['ubr'].value = $Ubr
    $null = $State.hotFixes.Add(@{ id = $HotFixId; description = 'Security Update'; installedBy = 'NT AUTHORITY\SYSTEM'; installedOn = $InstalledOn })
    $State.registry['hklm:\software\wow6432node\microsoft\edgeupdate\clients\{56eb18f8-b008-4cbd-b6d2-8c97fe7e9062}'].values['pv'].value = $EdgeVersion
    $State.registry['hklm:\software\wow6432node\microsoft\windows\currentversion\uninstall\microsoft edge'].values['displayversion'].value = $EdgeVersion
}

function New-FakeMachine {
    <# Lays the scenario out under $Path: state.clixml, the C: drive folder, and the helper's seam file. #>
    param([Parameter(Mandatory)] [hashtable] $State, [Parameter(Mandatory)] [string] $Path)
    $drive = Join-Path $Path 'C'
    foreach ($folder in @('Windows/Temp', 'Windows/System32/Sysprep', 'Windows/Panther', 'Windows/SoftwareDistribution/Download', 'w365-build', 'ProgramData/Microsoft/Windows/Start Menu/Programs')) {
        New-Item -ItemType Directory -Path (Join-Path $drive $folder) -Force | Out-Null
    }
    foreach ($shortcut in $State.startMenuShortcuts) {
        $file = Join-Path (Join-Path $drive 'ProgramData/Microsoft/Windows/Start Menu/Programs') ($shortcut -replace '\\', '/')
        New-Item -ItemType Directory -Path (Split-Path -Parent $file) -Force | Out-Null
        [System.IO.File]::WriteAllText($file, 'shortcut')
    }
    foreach ($relative in $State.unattendFiles.Keys) {
        $file = Join-Path (Join-Path $drive 'Windows') ($relative -replace '\\', '/')
        New-Item -ItemType Directory -Path (Split-Path -Parent $file) -Force | Out-Null
        [System.IO.File]::WriteAllText($file, $State.unattendFiles[$relative])
    }
    [System.IO.File]::WriteAllText((Join-Path $drive 'Windows/SoftwareDistribution/Download/cab.cab'), 'cab')
    foreach ($relative in $State.fileVersions.Keys) {
        $file = Join-Path $drive $relative
        New-Item -ItemType Directory -Path (Split-Path -Parent $file) -Force | Out-Null
        [System.IO.File]::WriteAllText($file, 'binary')
    }
    # The seam: the helper module dot-sources W365.Platform.ps1 beside itself; here it loads the fake Windows.
    $fake = Join-Path $PSScriptRoot 'FakeWindows.ps1'
    [System.IO.File]::WriteAllText((Join-Path $drive 'w365-build/W365.Platform.ps1'), ". '$fake' -Machine '$Path'`n")
    $State | Export-Clixml -LiteralPath (Join-Path $Path 'state.clixml') -Depth 20
    return $Path
}

function Get-FakeMachineState {
    param([Parameter(Mandatory)] [string] $Path)
    return (Import-Clixml -LiteralPath (Join-Path $Path 'state.clixml'))
}
