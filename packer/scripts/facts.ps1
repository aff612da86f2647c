<#
.SYNOPSIS
    Collects the facts a sysprep-check needs and writes them as one JSON document
    (schemaVersion 1, described by packer/facts.schema.json) to W365_FACTS_PATH.

.DESCRIPTION
    Collect only: judging is the action's job. Every section is read independently; a section
    that cannot be read has its fields set to null and its "error" set to the reason, never a
    guess. Packer downloads the document next to the manifest right after this script.
#>
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $env:W365_BUILD_DIR 'W365.Helpers.psm1') -Force

$factsPath = Get-W365Setting -Name 'W365_FACTS_PATH'

function Get-FactSection {
    <#
        Runs a collector that returns an ordered dictionary holding exactly $Fields. On any error
        every field is null and "error" holds the exception type and message.
    #>
    param(
        [Parameter(Mandatory)] [string] $Name,
        [Parameter(Mandatory)] [string[]] $Fields,
        [Parameter(Mandatory)] [scriptblock] $Collect
    )
    $section = [ordered]@{}
    try {
        $values = & $Collect
        foreach ($field in $Fields) {
            if (-not $values.Contains($field)) {
                throw "collector for '$Name' did not produce field '$field'"
            }
            $section[$field] = $values[$field]
        }
        $section['error'] = $null
    }
    catch {
        $section = [ordered]@{}
        foreach ($field in $Fields) {
            $section[$field] = $null
        }
        $section['error'] = "$($_.Exception.GetType().FullName): $($_.Exception.Message)"
        Write-W365Log "Fact section '$Name' could not be read: $($section['error'])"
    }
    return $section
}

function ConvertTo-NullableString {
    param($Value)
    if ($null -eq $Value) {
        return $null
    }
    return [string]$Value
}

$ntKey = 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'

$os = Get-FactSection -Name 'os' -Fields @('editionId', 'productType', 'installationType', 'currentBuild', 'ubr', 'displayVersion', 'productName', 'architecture') -Collect {
    $cim = Get-CimInstance -ClassName Win32_OperatingSystem
    $build = Get-W365RegistryValue -Path $ntKey -Name 'CurrentBuild'
    $ubr = Get-W365RegistryValue -Path $ntKey -Name 'UBR'
    [ordered]@{
        editionId        = ConvertTo-NullableString (Get-W365RegistryValue -Path $ntKey -Name 'EditionID')
        productType      = [int]$cim.ProductType
        installationType = ConvertTo-NullableString (Get-W365RegistryValue -Path $ntKey -Name 'InstallationType')
        currentBuild     = $(if ($null -eq $build) { $null } else { [int]$build })
        ubr              = $(if ($null -eq $ubr) { $null } else { [int]$ubr })
        displayVersion   = ConvertTo-NullableString (Get-W365RegistryValue -Path $ntKey -Name 'DisplayVersion')
        productName      = ConvertTo-NullableString (Get-W365RegistryValue -Path $ntKey -Name 'ProductName')
        architecture     = [string]$cim.OSArchitecture
    }
}

$imageState = Get-FactSection -Name 'imageState' -Fields @('value') -Collect {
    [ordered]@{
        value = ConvertTo-NullableString (Get-W365RegistryValue -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Setup\State' -Name 'ImageState')
    }
}

# Read once for both sections below; a failure is recorded in each of them, never guessed around.
$instanceMetadata = $null
$instanceMetadataError = $null
try {
    $instanceMetadata = Get-W365InstanceMetadata
}
catch {
    $instanceMetadataError = $_
    Write-W365Log "The instance metadata service did not answer: $($_.Exception.Message)"
}

function Get-InstanceMetadata {
    if ($null -ne $instanceMetadataError) {
        throw $instanceMetadataError
    }
    return $instanceMetadata
}

$baseImage = Get-FactSection -Name 'baseImage' -Fields @('publisher', 'offer', 'sku', 'version', 'exactVersion') -Collect {
    # The instance metadata service knows the exact version the VM booted from; the template may only say "latest".
    $reference = (Get-InstanceMetadata).compute.storageProfile.imageReference
    [ordered]@{
        publisher    = ConvertTo-NullableString $reference.publisher
        offer        = ConvertTo-NullableString $reference.offer
        sku          = ConvertTo-NullableString $reference.sku
        version      = ConvertTo-NullableString $reference.version
        exactVersion = ConvertTo-NullableString $reference.exactVersion
    }
}

$buildVm = Get-FactSection -Name 'buildVm' -Fields @('securityType', 'secureBootEnabled', 'virtualTpmEnabled', 'firmware', 'vmExtensions', 'defenderOnboardingState', 'buildAccount', 'buildAccountProfilePresent', 'storeAutoDownloadPaused') -Collect {
    $security = (Get-InstanceMetadata).compute.securityProfile
    $secureBoot = [string]$security.secureBootEnabled -eq 'true'
    $vtpm = [string]$security.virtualTpmEnabled -eq 'true'
    $securityType = $(if ($secureBoot -or $vtpm) { 'TrustedLaunch' } else { 'Standard' })
    if (@($security.PSObject.Properties.Name) -contains 'securityType' -and [string]$security.securityType -ne '') {
        $securityType = [string]$security.securityType
    }
    # PEFirmwareType 2 = UEFI (a Generation 2 VM), 1 = BIOS (Generation 1).
    $firmwareType = Get-W365RegistryValue -Path 'HKLM:\SYSTEM\CurrentControlSet\Control' -Name 'PEFirmwareType'
    $firmware = $(if ($null -eq $firmwareType) { $null } elseif ([int]$firmwareType -eq 2) { 'UEFI' } else { 'BIOS' })
    # Extensions Azure Policy or Defender for Servers pushed onto the build VM land here, and stay in the image.
    $plugins = Join-Path $W365SystemDrive 'Packages\Plugins'
    $extensions = @()
    if (Test-Path -LiteralPath $plugins -PathType Container) {
        $extensions = @(Get-ChildItem -LiteralPath $plugins -Directory | ForEach-Object { [string]$_.Name } | Sort-Object)
    }
    $onboarding = Get-W365RegistryValue -Path 'HKLM:\SOFTWARE\Microsoft\Windows Advanced Threat Protection\Status' -Name 'OnboardingState'
    $autoDownload = Get-W365RegistryValue -Path 'HKLM:\SOFTWARE\Policies\Microsoft\WindowsStore' -Name 'AutoDownload'
    [ordered]@{
        securityType               = $securityType
        secureBootEnabled          = $secureBoot
        virtualTpmEnabled          = $vtpm
        firmware                   = $firmware
        vmExtensions               = $extensions
        defenderOnboardingState    = $(if ($null -eq $onboarding) { $null } else { [int]$onboarding })
        buildAccount               = ConvertTo-NullableString $W365UserName
        buildAccountProfilePresent = (Test-Path -LiteralPath (Join-Path $W365SystemDrive "Users\$W365UserName") -PathType Container)
        storeAutoDownloadPaused    = ($null -ne $autoDownload -and [int]$autoDownload -eq 2)
    }
}

$dsregcmd = Get-FactSection -Name 'join.dsregcmd' -Fields @('azureAdJoined', 'enterpriseJoined', 'domainJoined') -Collect {
    $lines = @(Invoke-W365Native -FilePath "$W365SystemRoot\System32\dsregcmd.exe" -ArgumentList @('/status'))
    $found = @{}
    foreach ($line in $lines) {
        if ([string]$line -match '^\s*(AzureAdJoined|EnterpriseJoined|DomainJoined)\s*:\s*(\S+)\s*$') {
            $found[$Matches[1]] = $Matches[2]
        }
    }
    foreach ($name in @('AzureAdJoined', 'EnterpriseJoined', 'DomainJoined')) {
        if (-not $found.ContainsKey($name)) {
            throw "dsregcmd /status printed no '$name' line"
        }
    }
    [ordered]@{
        azureAdJoined    = [string]$found['AzureAdJoined']
        enterpriseJoined = [string]$found['EnterpriseJoined']
        domainJoined     = [string]$found['DomainJoined']
    }
}

$wmiJoin = Get-FactSection -Name 'join.wmi' -Fields @('partOfDomain', 'domain') -Collect {
    $system = Get-CimInstance -ClassName Win32_ComputerSystem
    [ordered]@{
        partOfDomain = [bool]$system.PartOfDomain
        domain       = [string]$system.Domain
    }
}

$mdm = Get-FactSection -Name 'mdm' -Fields @('enrollments') -Collect {
    $root = 'HKLM:\SOFTWARE\Microsoft\Enrollments'
    $items = New-Object System.Collections.Generic.List[object]
    foreach ($keyName in @(Get-W365RegistrySubKeyName -Path $root)) {
        $path = "$root\$keyName"
        $provider = Get-W365RegistryValue -Path $path -Name 'ProviderID'
        if ($null -eq $provider -or [string]$provider -eq '') {
            continue
        }
        $type = Get-W365RegistryValue -Path $path -Name 'EnrollmentType'
        $state = Get-W365RegistryValue -Path $path -Name 'EnrollmentState'
        $items.Add([ordered]@{
                id              = [string]$keyName
                providerId      = [string]$provider
                upn             = ConvertTo-NullableString (Get-W365RegistryValue -Path $path -Name 'UPN')
                enrollmentType  = $(if ($null -eq $type) { $null } else { [int]$type })
                enrollmentState = $(if ($null -eq $state) { $null } else { [int]$state })
            })
    }
    [ordered]@{ enrollments = $items.ToArray() }
}

$configMgr = Get-FactSection -Name 'configMgr' -Fields @('ccmExecServicePresent', 'ccmExecServiceStatus', 'ccmRegistryKeyPresent') -Collect {
    $service = @(Get-Service | Where-Object { $_.Name -eq 'CcmExec' })
    [ordered]@{
        ccmExecServicePresent = ($service.Count -eq 1)
        ccmExecServiceStatus  = $(if ($service.Count -eq 1) { $service[0].Status.ToString() } else { $null })
        ccmRegistryKeyPresent = (Test-W365RegistryKey -Path 'HKLM:\SOFTWARE\Microsoft\CCM')
    }
}

$partitions = Get-FactSection -Name 'partitions' -Fields @('osDiskNumber', 'items') -Collect {
    $osPartition = Get-Partition -DriveLetter $W365SystemDriveLetter
    $items = New-Object System.Collections.Generic.List[object]
    foreach ($partition in @(Get-Partition)) {
        $letter = [int][char]$partition.DriveLetter
        $items.Add([ordered]@{
                diskNumber      = [int]$partition.DiskNumber
                partitionNumber = [int]$partition.PartitionNumber
                type            = [string]$partition.Type
                gptType         = $(if ([string]$partition.GptType -eq '') { $null } else { ([string]$partition.GptType).ToLowerInvariant() })
                mbrType         = $(if ($null -eq $partition.MbrType) { $null } else { [int]$partition.MbrType })
                sizeBytes       = [long]$partition.Size
                offsetBytes     = [long]$partition.Offset
                driveLetter     = $(if ($letter -eq 0) { $null } else { [string]$partition.DriveLetter })
                isBoot          = [bool]$partition.IsBoot
                isSystem        = [bool]$partition.IsSystem
            })
    }
    [ordered]@{
        osDiskNumber = [int]$osPartition.DiskNumber
        items        = $items.ToArray()
    }
}

$bitLocker = Get-FactSection -Name 'bitLocker' -Fields @('volumes') -Collect {
    $items = New-Object System.Collections.Generic.List[object]
    foreach ($volume in @(Get-BitLockerVolume)) {
        $items.Add([ordered]@{
                mountPoint           = [string]$volume.MountPoint
                volumeType           = [string]$volume.VolumeType
                volumeStatus         = [string]$volume.VolumeStatus
                protectionStatus     = [string]$volume.ProtectionStatus
                encryptionPercentage = [double]$volume.EncryptionPercentage
                encryptionMethod     = [string]$volume.EncryptionMethod
            })
    }
    [ordered]@{ volumes = $items.ToArray() }
}

# TiWorker often goes on servicing for a few minutes after a restart: let it finish (bounded) before sampling.
$tiWorkerDeadline = (Get-Date).AddMinutes(15)
while ((@(Get-Process | Where-Object { $_.ProcessName -eq 'TiWorker' }).Count -gt 0) -and ((Get-Date) -lt $tiWorkerDeadline)) {
    Start-Sleep -Seconds 10
}

$pendingReboot = Get-FactSection -Name 'pendingReboot' -Fields @('cbsRebootPending', 'windowsUpdateRebootRequired', 'pendingFileRenameOperations', 'pendingFileRenameOperationsCount', 'tiWorkerRunning') -Collect {
    $renames = Get-W365RegistryValue -Path 'HKLM:\SYSTEM\CurrentControlSet\Control\Session Manager' -Name 'PendingFileRenameOperations'
    $renameCount = @($renames | Where-Object { $null -ne $_ -and [string]$_ -ne '' }).Count
    [ordered]@{
        cbsRebootPending                 = (Test-W365RegistryKey -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\RebootPending')
        windowsUpdateRebootRequired      = (Test-W365RegistryKey -Path 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\WindowsUpdate\Auto Update\RebootRequired')
        pendingFileRenameOperations      = ($renameCount -gt 0)
        pendingFileRenameOperationsCount = [int]$renameCount
        tiWorkerRunning                  = (@(Get-Process | Where-Object { $_.ProcessName -eq 'TiWorker' }).Count -gt 0)
    }
}

$appx = Get-FactSection -Name 'appx' -Fields @('provisionedPackageNames', 'userPackagesNotProvisioned') -Collect {
    $provisioned = @(Get-AppxProvisionedPackage -Online)
    $provisionedNames = @($provisioned | ForEach-Object { [string]$_.DisplayName } | Sort-Object -Unique)
    # Compared by full name (name, version, architecture, publisher): a provisioned app the Store updated for a
    # user is that user's package of another version, and stops sysprep like an unprovisioned one (KB 2769827).
    $provisionedFullNames = @($provisioned | ForEach-Object { [string]$_.PackageName })
    $items = New-Object System.Collections.Generic.List[object]
    foreach ($package in @(Get-AppxPackage -AllUsers)) {
        if ($provisionedFullNames -contains [string]$package.PackageFullName) {
            continue
        }
        foreach ($user in @($package.PackageUserInformation)) {
            $items.Add([ordered]@{
                    name             = [string]$package.Name
                    packageFullName  = [string]$package.PackageFullName
                    userName         = ConvertTo-NullableString $user.UserSecurityId.Username
                    userSid          = ConvertTo-NullableString $user.UserSecurityId.Sid
                    installState     = [string]$user.InstallState
                    isFramework      = [bool]$package.IsFramework
                    nonRemovable     = [bool]$package.NonRemovable
                    signatureKind    = [string]$package.SignatureKind
                })
        }
    }
    [ordered]@{
        provisionedPackageNames    = $provisionedNames
        userPackagesNotProvisioned = $items.ToArray()
    }
}

$avd = Get-FactSection -Name 'avdAndFslogix' -Fields @('fslogixServicePresent', 'fslogixRegistryKeyPresent', 'fslogixProducts', 'rdAgentBootLoaderServicePresent', 'rdAgentBootLoaderProducts', 'rdsInfrastructureAgentProducts', 'genevaAgentProducts', 'sxsNetworkStackProducts') -Collect {
    $serviceNames = @(Get-Service | ForEach-Object { [string]$_.Name })
    [ordered]@{
        fslogixServicePresent           = ($serviceNames -contains 'frxsvc')
        fslogixRegistryKeyPresent       = (Test-W365RegistryKey -Path 'HKLM:\SOFTWARE\FSLogix')
        fslogixProducts                 = @(Get-W365InstalledProducts -DisplayNamePattern '*FSLogix*')
        rdAgentBootLoaderServicePresent = ($serviceNames -contains 'RDAgentBootLoader')
        rdAgentBootLoaderProducts       = @(Get-W365InstalledProducts -DisplayNamePattern 'Remote Desktop Agent Boot Loader*')
        rdsInfrastructureAgentProducts  = @(Get-W365InstalledProducts -DisplayNamePattern 'Remote Desktop Services Infrastructure Agent*')
        genevaAgentProducts             = @(Get-W365InstalledProducts -DisplayNamePattern '*Geneva*')
        sxsNetworkStackProducts         = @(Get-W365InstalledProducts -DisplayNamePattern 'Remote Desktop Services SxS Network Stack*')
    }
}

$startMenu = Get-FactSection -Name 'startMenu' -Fields @('appCount', 'method') -Collect {
    # What every new user's Start menu starts from, whoever runs this: Get-StartApps would list the Start menu
    # of the WinRM build user, who never logged on interactively.
    $shortcutFolders = @(
        (Join-Path $W365ProgramData 'Microsoft\Windows\Start Menu\Programs'),
        (Join-Path $W365SystemDrive 'Users\Default\AppData\Roaming\Microsoft\Windows\Start Menu\Programs')
    )
    $shortcuts = 0
    foreach ($folder in $shortcutFolders) {
        if (Test-Path -LiteralPath $folder -PathType Container) {
            $shortcuts += @(Get-ChildItem -LiteralPath $folder -Recurse -File | Where-Object { $_.Extension -eq '.lnk' -or $_.Extension -eq '.url' }).Count
        }
    }
    $packaged = @(Get-AppxProvisionedPackage -Online).Count
    [ordered]@{
        appCount = $shortcuts + $packaged
        method   = "machine-wide and default-profile Start Menu shortcuts ($shortcuts) plus provisioned packages ($packaged)"
    }
}

$teams = Get-FactSection -Name 'teams' -Fields @('isWvdEnvironment', 'isWvdEnvironmentKind', 'disableAutoUpdate', 'disableAutoUpdateKind', 'webRtcServicePresent', 'webRtcServiceStartType', 'msTeamsProvisioned', 'msTeamsProvisionedVersion', 'vcRedistX64Installed', 'vcRedistX64Version', 'webView2Version') -Collect {
    $teamsKey = 'HKLM:\SOFTWARE\Microsoft\Teams'
    $isWvd = Get-W365RegistryValue -Path $teamsKey -Name 'IsWVDEnvironment'
    $autoUpdate = Get-W365RegistryValue -Path $teamsKey -Name 'disableAutoUpdate'
    $webRtc = @(Get-Service | Where-Object { $_.Name -eq 'RDWebRTCSvc' })
    $msTeams = @(Get-AppxProvisionedPackage -Online | Where-Object { $_.DisplayName -eq 'MSTeams' })
    $vcVersion = $null
    foreach ($path in @(
            'HKLM:\SOFTWARE\Microsoft\VisualStudio\14.0\VC\Runtimes\X64',
            'HKLM:\SOFTWARE\WOW6432Node\Microsoft\VisualStudio\14.0\VC\Runtimes\X64')) {
        $installed = Get-W365RegistryValue -Path $path -Name 'Installed'
        if ($null -eq $vcVersion -and $null -ne $installed -and [int]$installed -eq 1) {
            $vcVersion = [string](Get-W365RegistryValue -Path $path -Name 'Version')
        }
    }
    [ordered]@{
        isWvdEnvironment          = $(if ($null -eq $isWvd) { $null } else { [string]$isWvd })
        isWvdEnvironmentKind      = Get-W365RegistryValueKind -Path $teamsKey -Name 'IsWVDEnvironment'
        disableAutoUpdate         = $(if ($null -eq $autoUpdate) { $null } else { [string]$autoUpdate })
        disableAutoUpdateKind     = Get-W365RegistryValueKind -Path $teamsKey -Name 'disableAutoUpdate'
        webRtcServicePresent      = ($webRtc.Count -eq 1)
        webRtcServiceStartType    = $(if ($webRtc.Count -eq 1) { $webRtc[0].StartType.ToString() } else { $null })
        msTeamsProvisioned        = ($msTeams.Count -gt 0)
        msTeamsProvisionedVersion = $(if ($msTeams.Count -gt 0) { [string]$msTeams[0].Version } else { $null })
        vcRedistX64Installed      = ($null -ne $vcVersion)
        vcRedistX64Version        = $vcVersion
        webView2Version           = ConvertTo-NullableString (Get-W365RegistryValue -Path 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\EdgeUpdate\Clients\{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}' -Name 'pv')
    }
}

$unattend = Get-FactSection -Name 'unattend' -Fields @('setupUnattendFile', 'files') -Collect {
    $items = New-Object System.Collections.Generic.List[object]
    foreach ($path in @(Get-W365UnattendPaths)) {
        $exists = Test-Path -LiteralPath $path -PathType Leaf
        $names = @()
        if ($exists) {
            [xml]$document = Get-Content -LiteralPath $path -Raw
            $names = @($document.SelectNodes("//*[local-name()='ComputerName']") | ForEach-Object { [string]$_.InnerText })
        }
        # Observed: the clean-up step before this one deleted every answer file; one still here survived it.
        $items.Add([ordered]@{
                path                 = $path
                exists               = [bool]$exists
                computerNames        = $names
                removedBeforeSysprep = (-not $exists)
            })
    }
    [ordered]@{
        setupUnattendFile = ConvertTo-NullableString (Get-W365RegistryValue -Path 'HKLM:\SYSTEM\Setup' -Name 'UnattendFile')
        files             = $items.ToArray()
    }
}

$facts = [ordered]@{
    schemaVersion = 1
    collectedAt   = [DateTime]::UtcNow.ToString('yyyy-MM-ddTHH:mm:ssZ')
    collector     = [ordered]@{
        name            = 'w365-image packer/scripts/facts.ps1'
        templateVersion = Get-W365Setting -Name 'W365_TEMPLATE_VERSION' -AllowEmpty
        gitCommit       = Get-W365Setting -Name 'W365_GIT_COMMIT' -AllowEmpty
        runUrl          = Get-W365Setting -Name 'W365_RUN_URL' -AllowEmpty
    }
    computerName  = $env:COMPUTERNAME
    os            = $os
    imageState    = $imageState
    baseImage     = $baseImage
    buildVm       = $buildVm
    join          = [ordered]@{
        dsregcmd = $dsregcmd
        wmi      = $wmiJoin
    }
    mdm           = $mdm
    configMgr     = $configMgr
    partitions    = $partitions
    bitLocker     = $bitLocker
    pendingReboot = $pendingReboot
    appx          = $appx
    avdAndFslogix = $avd
    startMenu     = $startMenu
    teams         = $teams
    unattend      = $unattend
}

# Software inventory (informational: no sysprep-check rule reads it). Added to the document as its last section.
$facts['inventory'] = Get-FactSection -Name 'inventory' -Fields @('currentBuild', 'ubr', 'programs', 'appx', 'updates', 'components') -Collect {
    $programs = New-Object System.Collections.Generic.List[object]
    foreach ($view in @(
            @{ path = 'HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall'; name = '64-bit' },
            @{ path = 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall'; name = '32-bit' })) {
        foreach ($subKey in @(Get-W365RegistrySubKeyName -Path $view.path)) {
            $key = "$($view.path)\$subKey"
            $name = ConvertTo-NullableString (Get-W365RegistryValue -Path $key -Name 'DisplayName')
            $hidden = Get-W365RegistryValue -Path $key -Name 'SystemComponent'
            if ($null -eq $name -or ($null -ne $hidden -and [int]$hidden -eq 1)) {
                continue
            }
            $programs.Add([ordered]@{
                    name      = $name
                    version   = ConvertTo-NullableString (Get-W365RegistryValue -Path $key -Name 'DisplayVersion')
                    publisher = ConvertTo-NullableString (Get-W365RegistryValue -Path $key -Name 'Publisher')
                    view      = $view.name
                })
        }
    }
    $provisioned = @(Get-AppxProvisionedPackage -Online | Sort-Object -Property DisplayName | ForEach-Object {
            [ordered]@{ name = [string]$_.DisplayName; version = [string]$_.Version }
        })
    $updates = @(Get-HotFix | Sort-Object -Property HotFixID | ForEach-Object {
            [ordered]@{
                id          = [string]$_.HotFixID
                description = ConvertTo-NullableString $_.Description
                installedOn = $(if ($null -ne $_.InstalledOn) { ([DateTime]$_.InstalledOn).ToString('yyyy-MM-dd') } else { $null })
            }
        })
    # Microsoft 365 Apps: the channel is the CDN GUID of UpdateChannel (policy) or CDNBaseUrl.
    $clickToRun = 'HKLM:\SOFTWARE\Microsoft\Office\ClickToRun\Configuration'
    $channelUrl = ConvertTo-NullableString (Get-W365RegistryValue -Path $clickToRun -Name 'UpdateChannel')
    if ($null -eq $channelUrl) {
        $channelUrl = ConvertTo-NullableString (Get-W365RegistryValue -Path $clickToRun -Name 'CDNBaseUrl')
    }
    $channels = @{
        '492350f6-3a01-4f97-b9c0-c7c6ddf67d60' = 'Current'
        '64256afe-f5d9-4f86-8936-8840a6a4f5be' = 'Current (Preview)'
        '55336b82-a18d-4dd6-b5f6-9e5095c314a6' = 'Monthly Enterprise'
        '7ffbc6bf-bc32-4f92-8982-f9dd17fd3114' = 'Semi-Annual Enterprise'
        'b8f9b850-328d-4355-9145-c59439a0c4cf' = 'Semi-Annual Enterprise (Preview)'
        '5440fd1f-7ecb-4221-8110-145efaa6372f' = 'Beta'
    }
    $channel = $null
    if ($null -ne $channelUrl) {
        $guid = [regex]::Match($channelUrl, '[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}').Value.ToLowerInvariant()
        $channel = $(if ($channels.ContainsKey($guid)) { $channels[$guid] } elseif ($guid) { $guid } else { $channelUrl })
    }
    $defender = $null
    try {
        $defender = Get-MpComputerStatus
    }
    catch {
        Write-W365Log "Defender status unavailable: $($_.Exception.Message)"
    }
    $teamsApp = @($provisioned | Where-Object { $_.name -eq 'MSTeams' })
    $oneDrive = $null
    foreach ($path in @((Join-Path $W365ProgramFiles 'Microsoft OneDrive\OneDrive.exe'), (Join-Path $W365SystemRoot 'System32\OneDriveSetup.exe'))) {
        if ($null -eq $oneDrive) {
            $oneDrive = ConvertTo-NullableString (Get-W365FileVersion -Path $path)
        }
    }
    $webRtc = @($programs | Where-Object { $_.name -match '^Remote Desktop WebRTC Redirector Service' } | Select-Object -First 1)
    $edgeClients = 'HKLM:\SOFTWARE\WOW6432Node\Microsoft\EdgeUpdate\Clients'
    [ordered]@{
        currentBuild = $(if ($null -ne ($b = Get-W365RegistryValue -Path 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion' -Name 'CurrentBuild')) { [int]$b } else { $null })
        ubr          = $(if ($null -ne ($u = Get-W365RegistryValue -Path 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion' -Name 'UBR')) { [int]$u } else { $null })
        programs     = $programs.ToArray()
        appx         = $provisioned
        updates      = $updates
        components   = [ordered]@{
            edge             = ConvertTo-NullableString (Get-W365RegistryValue -Path "$edgeClients\{56EB18F8-B008-4CBD-B6D2-8C97FE7E9062}" -Name 'pv')
            webView2         = ConvertTo-NullableString (Get-W365RegistryValue -Path "$edgeClients\{F3017226-FE2A-4295-8BDF-00C3A9A7E4C5}" -Name 'pv')
            teams            = $(if ($teamsApp.Count -gt 0) { $teamsApp[0].version } else { $null })
            m365Apps         = ConvertTo-NullableString (Get-W365RegistryValue -Path $clickToRun -Name 'VersionToReport')
            m365AppsChannel  = $channel
            oneDrive         = $oneDrive
            defenderPlatform = $(if ($null -ne $defender) { ConvertTo-NullableString $defender.AMProductVersion } else { $null })
            defenderEngine   = $(if ($null -ne $defender) { ConvertTo-NullableString $defender.AMEngineVersion } else { $null })
            webRtcRedirector = $(if ($webRtc.Count -gt 0) { $webRtc[0].version } else { $null })
            vcRedist         = @($programs | Where-Object { $_.name -match '^Microsoft Visual C\+\+ .*Redistributable' } | ForEach-Object {
                    [ordered]@{ name = $_.name; version = $_.version }
                })
        }
    }
}

$json = $facts | ConvertTo-Json -Depth 10
$directory = Split-Path -Parent $factsPath
if (-not (Test-Path -LiteralPath $directory -PathType Container)) {
    New-Item -ItemType Directory -Path $directory -Force | Out-Null
}
[System.IO.File]::WriteAllText($factsPath, $json, (New-Object System.Text.UTF8Encoding($false)))
Write-W365Log "Facts written to $factsPath ($((Get-Item -LiteralPath $factsPath).Length) bytes)."
Write-Host $json
# Packer ends the step with `exit $LastExitCode`: a failed dsregcmd above is recorded in the facts, not a
# failure of this step, so say success explicitly.
exit 0
