<resource schema="specirbench">
  <meta name="title">specir synthetic value-added catalog (benchmark)</meta>
  <meta name="description">1,000,000 synthetic rows with the specir value-added columns, for comparing TAP services.</meta>
  <meta name="creationDate">2026-11-25T00:00:00Z</meta>
  <meta name="subject">galaxies</meta>
  <meta name="creator.name">specir developers</meta>
  <table id="vac" onDisk="True" adql="True" mixin="//scs#pgs-pos-index">
    <column name="id" type="bigint" unit="" ucd="meta.id;meta.main" tablehead="id" description="Object identifier" required="true" verbLevel="10"/>
    <column name="ra" type="double precision" unit="deg" ucd="pos.eq.ra;meta.main" tablehead="ra" description="Right ascension (ICRS)" required="true" verbLevel="10"/>
    <column name="dec" type="double precision" unit="deg" ucd="pos.eq.dec;meta.main" tablehead="dec" description="Declination (ICRS)" required="true" verbLevel="10"/>
    <column name="z" type="double precision" unit="" ucd="src.redshift" tablehead="z" description="Spectroscopic redshift" required="false" verbLevel="10"/>
    <column name="w1_flux" type="real" unit="mJy" ucd="phot.flux.density;em.IR.3-4um" tablehead="w1_flux" description="Predicted WISE W1 (3.4 um) flux density" required="false" verbLevel="10"/>
    <column name="w1_flux_err" type="real" unit="mJy" ucd="stat.error;phot.flux.density;em.IR.3-4um" tablehead="w1_flux_err" description="1-sigma uncertainty of the predicted WISE W1 (3.4 um) flux density" required="false" verbLevel="10"/>
    <column name="w2_flux" type="real" unit="mJy" ucd="phot.flux.density;em.IR.4-8um" tablehead="w2_flux" description="Predicted WISE W2 (4.6 um) flux density" required="false" verbLevel="10"/>
    <column name="w2_flux_err" type="real" unit="mJy" ucd="stat.error;phot.flux.density;em.IR.4-8um" tablehead="w2_flux_err" description="1-sigma uncertainty of the predicted WISE W2 (4.6 um) flux density" required="false" verbLevel="10"/>
    <column name="w3_flux" type="real" unit="mJy" ucd="phot.flux.density;em.IR.8-15um" tablehead="w3_flux" description="Predicted WISE W3 (12 um) flux density" required="false" verbLevel="10"/>
    <column name="w3_flux_err" type="real" unit="mJy" ucd="stat.error;phot.flux.density;em.IR.8-15um" tablehead="w3_flux_err" description="1-sigma uncertainty of the predicted WISE W3 (12 um) flux density" required="false" verbLevel="10"/>
    <column name="w4_flux" type="real" unit="mJy" ucd="phot.flux.density;em.IR.15-30um" tablehead="w4_flux" description="Predicted WISE W4 (22 um) flux density" required="false" verbLevel="10"/>
    <column name="w4_flux_err" type="real" unit="mJy" ucd="stat.error;phot.flux.density;em.IR.15-30um" tablehead="w4_flux_err" description="1-sigma uncertainty of the predicted WISE W4 (22 um) flux density" required="false" verbLevel="10"/>
    <column name="w1_mag" type="real" unit="mag" ucd="phot.mag;em.IR.3-4um" tablehead="w1_mag" description="Predicted WISE W1 (3.4 um) Vega magnitude" required="false" verbLevel="10"/>
    <column name="w1_mag_err" type="real" unit="mag" ucd="stat.error;phot.mag;em.IR.3-4um" tablehead="w1_mag_err" description="1-sigma uncertainty of the predicted WISE W1 (3.4 um) Vega magnitude" required="false" verbLevel="10"/>
    <column name="w2_mag" type="real" unit="mag" ucd="phot.mag;em.IR.4-8um" tablehead="w2_mag" description="Predicted WISE W2 (4.6 um) Vega magnitude" required="false" verbLevel="10"/>
    <column name="w2_mag_err" type="real" unit="mag" ucd="stat.error;phot.mag;em.IR.4-8um" tablehead="w2_mag_err" description="1-sigma uncertainty of the predicted WISE W2 (4.6 um) Vega magnitude" required="false" verbLevel="10"/>
    <column name="w3_mag" type="real" unit="mag" ucd="phot.mag;em.IR.8-15um" tablehead="w3_mag" description="Predicted WISE W3 (12 um) Vega magnitude" required="false" verbLevel="10"/>
    <column name="w3_mag_err" type="real" unit="mag" ucd="stat.error;phot.mag;em.IR.8-15um" tablehead="w3_mag_err" description="1-sigma uncertainty of the predicted WISE W3 (12 um) Vega magnitude" required="false" verbLevel="10"/>
    <column name="w4_mag" type="real" unit="mag" ucd="phot.mag;em.IR.15-30um" tablehead="w4_mag" description="Predicted WISE W4 (22 um) Vega magnitude" required="false" verbLevel="10"/>
    <column name="w4_mag_err" type="real" unit="mag" ucd="stat.error;phot.mag;em.IR.15-30um" tablehead="w4_mag_err" description="1-sigma uncertainty of the predicted WISE W4 (22 um) Vega magnitude" required="false" verbLevel="10"/>
    <column name="w1_w2" type="real" unit="mag" ucd="phot.color;em.IR.3-4um;em.IR.4-8um" tablehead="w1_w2" description="Predicted W1-W2 colour" required="false" verbLevel="10"/>
    <column name="w2_w3" type="real" unit="mag" ucd="phot.color;em.IR.4-8um;em.IR.8-15um" tablehead="w2_w3" description="Predicted W2-W3 colour" required="false" verbLevel="10"/>
    <column name="p_agn" type="real" unit="" ucd="stat.probability;src.class" tablehead="p_agn" description="Predicted probability that an active galactic nucleus contributes to the spectrum" required="false" verbLevel="10"/>
    <column name="log_lagn" type="real" unit="log(erg/s)" ucd="phys.luminosity" tablehead="log_lagn" description="Predicted log10 AGN bolometric luminosity, given an AGN; NaN where p_agn &lt; 0.5" required="false" verbLevel="10"/>
    <column name="log_lagn_err" type="real" unit="dex" ucd="stat.error;phys.luminosity" tablehead="log_lagn_err" description="1-sigma uncertainty of log_lagn" required="false" verbLevel="10"/>
    <column name="q_pah" type="real" unit="%" ucd="phys.abund;phys.composition" tablehead="q_pah" description="Predicted PAH mass fraction q_PAH of the dust" required="false" verbLevel="10"/>
    <column name="q_pah_err" type="real" unit="%" ucd="stat.error;phys.abund" tablehead="q_pah_err" description="1-sigma uncertainty of q_pah" required="false" verbLevel="10"/>
    <column name="flags" type="bigint" unit="" ucd="meta.code.qual" tablehead="flags" description="Quality bits (specir.Flags); 0 means clean" required="false" verbLevel="10"/>
  </table>
  <data id="import">
    <sources>vac.csv</sources>
    <csvGrammar/>
    <make table="vac">
      <rowmaker idmaps="*"/>
    </make>
  </data>
</resource>
